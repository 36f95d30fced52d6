namespace EigenProNet.Preconditioning;

/// <summary>
/// The batch-size and step-size rule of a preconditioned iteration (spec eigenpro.md §8): from β (the bound on the
/// kernel's diagonal), the preconditioned top eigenvalue λ₁′ and the tail eigenvalue λ_tail it gives the critical
/// batch size m* and the per-sample step (the reference's η/b). The EigenPro versions differ only in which rule and
/// which constants they pass; a rule is a value (records compare by their constants), and the preconditioner applies
/// whatever rule it is given.
/// </summary>
public abstract record StepRule
{
    /// <summary>The critical batch size m* (at least 1).</summary>
    public abstract int CriticalBatchSize(double beta, double topEigenvalue, double tailEigenvalue);

    /// <summary>The per-sample step for a batch of <paramref name="batchSize"/> rows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The batch is empty.</exception>
    public abstract double StepSize(int batchSize, double beta, double topEigenvalue, double tailEigenvalue);

    /// <summary>int(value), clamped to [1, int.MaxValue].</summary>
    private protected static int AtLeastOne(double value) => Math.Max(1, (int)Math.Min(int.MaxValue, value));

    private protected static void CheckBatch(int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Expected a batch of at least 1.");
    }

    private protected static double CheckScale(double scale) => scale > 0 && double.IsFinite(scale)
        ? scale
        : throw new ArgumentOutOfRangeException(nameof(scale), scale, "Expected a positive, finite scale.");
}

/// <summary>
/// SGD's two regimes around m* = int(β/λ₁′ + 1) (§1.7): the step <see cref="Scale"/>/β below m*, and
/// <see cref="Scale"/>·0.99·2/(β + (b − 1)λ₁′) from it on. Scale 1 is EigenPro 2's rule, ½ its use for EigenPro 3's
/// inexact projection (§2.5).
/// </summary>
public sealed record TopEigenvalueStepRule : StepRule
{
    /// <summary>The rule with the given <paramref name="scale"/> of the step (1: EigenPro 2).</summary>
    public TopEigenvalueStepRule(double scale = 1) => Scale = CheckScale(scale);

    /// <summary>Multiplies the step in both regimes.</summary>
    public double Scale { get; }

    /// <inheritdoc/>
    public override int CriticalBatchSize(double beta, double topEigenvalue, double tailEigenvalue) => AtLeastOne(beta / topEigenvalue + 1);

    /// <inheritdoc/>
    public override double StepSize(int batchSize, double beta, double topEigenvalue, double tailEigenvalue)
    {
        CheckBatch(batchSize);
        double b = batchSize;
        return b < beta / topEigenvalue + 1 ? Scale / beta : Scale * 0.99 * 2 / (beta + (b - 1) * topEigenvalue);
    }
}

/// <summary>
/// The same step <see cref="Scale"/>/β at every batch size, with m* = int(β/λ_tail) (§2.3: EigenPro 3's data
/// preconditioner, scale ½).
/// </summary>
public sealed record ConstantStepRule : StepRule
{
    /// <summary>The rule with step <paramref name="scale"/>/β.</summary>
    public ConstantStepRule(double scale) => Scale = CheckScale(scale);

    /// <summary>The step times β.</summary>
    public double Scale { get; }

    /// <inheritdoc/>
    public override int CriticalBatchSize(double beta, double topEigenvalue, double tailEigenvalue) => AtLeastOne(beta / tailEigenvalue);

    /// <inheritdoc/>
    public override double StepSize(int batchSize, double beta, double topEigenvalue, double tailEigenvalue)
    {
        CheckBatch(batchSize);
        return Scale / beta;
    }
}

/// <summary>
/// The regimes around m* = int(β/λ_tail) (§3.3: EigenPro 4's rule): step 1/β below m*, 2/(β + (b − 1)λ_tail) from it on.
/// </summary>
public sealed record TailEigenvalueStepRule : StepRule
{
    /// <inheritdoc/>
    public override int CriticalBatchSize(double beta, double topEigenvalue, double tailEigenvalue) => AtLeastOne(beta / tailEigenvalue);

    /// <inheritdoc/>
    public override double StepSize(int batchSize, double beta, double topEigenvalue, double tailEigenvalue)
    {
        CheckBatch(batchSize);
        double b = batchSize;
        return b < CriticalBatchSize(beta, topEigenvalue, tailEigenvalue) ? 1 / beta : 2 / (beta + (b - 1) * tailEigenvalue);
    }
}
