using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>
/// θ ≈ K(Z, Z)⁻¹·h: the projection of a step onto span{k(z_j, ·)} that EigenPro 3 runs after every batch and
/// EigenPro 4 after every T batches — exactly, by a Cholesky factor of K(Z, Z) computed once, or by EigenPro 2
/// epochs over the centers with their own preconditioner (spec eigenpro.md §2.5, §3.7).
/// </summary>
internal sealed class CenterProjection
{
    private readonly CholeskyFactor? _factor;
    private readonly EigenProIteration? _iteration;
    private readonly int _epochs;
    private readonly int _seed;
    private long _shuffles;   // projection epochs run or skipped so far: the next one's stream index

    private CenterProjection(CholeskyFactor? factor, EigenProIteration? iteration, int epochs, int seed)
    {
        _factor = factor;
        _iteration = iteration;
        _epochs = epochs;
        _seed = seed;
    }

    /// <summary>Bytes of the exact projection: K(Z, Z) in float32 and its factor in float32 and float64.</summary>
    public static long ExactBytes(int p) => 16L * p * p;

    /// <summary>Whether the projection is exact.</summary>
    public bool IsExact => _factor is not null;

    /// <summary>The inexact projection's Nyström sample of the centers.</summary>
    public int? SubsampleSize => _iteration?.Preconditioner.SubsampleSize;

    /// <summary>The inexact projection's batch size.</summary>
    public int? BatchSize => _iteration?.BatchSize;

    /// <summary>The inexact projection's preconditioner.</summary>
    public NystromPreconditioner? Preconditioner => _iteration?.Preconditioner;

    public static CenterProjection Exact(KernelRows z, MemoryBudget budget, ComputeContext compute)
    {
        int p = z.Count;
        if (ExactBytes(p) > budget.Bytes)
            throw new MemoryBudgetExceededException(
                $"The exact projection onto {p} centers needs {MemoryBudget.Format(ExactBytes(p))} (K(Z, Z) and its factor), more than the memory budget {budget}; use the inexact projection or raise the budget.");
        var kzz = new Matrix(p, p);
        z.Kernel.EvaluateSymmetric(z, kzz, compute);
        return new CenterProjection(Cholesky.Factor(kzz, context: compute), null, 0, 0);
    }

    /// <summary>
    /// EigenPro 2 over the centers: a preconditioner built with <paramref name="options"/> (its budget, compute and
    /// batch limit are filled in here), <paramref name="epochs"/> epochs from θ = 0 per projection, batches of the
    /// critical size capped by the memory budget, p and <paramref name="batchCap"/>. Projection epoch i (counted over
    /// the run) visits the centers in the order of stream (<see cref="SeedStreams.ProjectionShuffle"/>, i) of <paramref name="seed"/>.
    /// </summary>
    public static CenterProjection Inexact(KernelRows z, NystromOptions options, int epochs, int? batchCap, int c, int seed,
        MemoryBudget budget, ComputeContext compute, CancellationToken ct)
    {
        int p = z.Count, sz = options.SubsampleSize;
        if (sz < 2) throw new ArgumentException($"The inexact projection needs a Nyström sample of at least 2 centers, found {sz} (p = {p}).", nameof(options));
        if (epochs < 1) throw new ArgumentException($"Projection epochs must be at least 1, found {epochs}.", nameof(epochs));
        long bytesPerRow = 4L * (p + sz + z.Dimension + c);
        int memoryBatch = budget.RowsThatFit(bytesPerRow, p, 1, "a projection batch");
        var pre = NystromPreconditioner.Build(z, options with { MaxBatchSize = memoryBatch, Budget = budget, Compute = compute }, ct);
        int batch = Math.Max(1, Math.Min(Math.Min(pre.CriticalBatchSize, memoryBatch), Math.Min(p, batchCap ?? int.MaxValue)));
        var iteration = new EigenProIteration(z, pre, c, batch, pre.StepSize(batch), budget, compute);
        return new CenterProjection(null, iteration, epochs, seed);
    }

    /// <summary>The inexact projection's step η per center.</summary>
    public double? StepSize => _iteration?.StepSize;

    /// <summary>EigenPro 2 epochs per inexact projection.</summary>
    public int Epochs => _epochs;

    /// <summary>The order of the next inexact projection epoch over the <paramref name="p"/> centers (advancing the shuffles, as <see cref="Project"/> does).</summary>
    public int[] NextOrder(int p) => Preprocessing.Permutation(p, SeedStreams.Create(_seed, SeedStreams.ProjectionShuffle, _shuffles++));

    /// <summary>Moves past what <paramref name="calls"/> projections would draw (their shuffles), without computing them: resuming.</summary>
    public void Skip(int calls) => _shuffles += (long)calls * _epochs;

    /// <summary>θ for the right-hand side h (p × c); the returned matrix is reused by the next call.</summary>
    public Matrix Project(Matrix h, CancellationToken ct)
    {
        if (_factor is not null) return _factor.Solve(h);
        // EigenPro 2 over the centers with h as targets, from θ = 0 (no warm start, as the reference).
        _iteration!.ClearWeights();
        var theta = _iteration.Weights;
        int p = theta.Rows, batch = _iteration.BatchSize;
        for (int epoch = 0; epoch < _epochs; epoch++)
        {
            var order = NextOrder(p);
            for (int start = 0; start < p; start += batch)
            {
                ct.ThrowIfCancellationRequested();
                _iteration.Step(order.AsSpan(start, Math.Min(batch, p - start)), h, ct);
            }
        }
        return theta;
    }
}
