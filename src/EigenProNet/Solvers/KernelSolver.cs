using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Solvers;

/// <summary>
/// A solver that fits a <see cref="KernelModel"/> to features and targets (EigenPro 2/3/4, direct, RFM). The model's
/// <see cref="KernelModel.Kernel"/> is the kernel it was fitted with (RFM learns its kernel, so no solver promises one
/// before it has seen the data).
/// </summary>
public interface IKernelSolver
{
    /// <summary>
    /// Trains on features <paramref name="x"/> (n × d, already scaled) and targets <paramref name="y"/> (n × c),
    /// evaluating on the validation rows when given. <paramref name="classCount"/> &gt; 0 reports accuracies
    /// (argmax of the outputs against argmax of the targets). <paramref name="observer"/> sees
    /// <see cref="ITrainingObserver.OnStart"/> with zero weights before the first update and
    /// <see cref="ITrainingObserver.OnEpoch"/> after every epoch (every solver); the preconditioned solvers also report
    /// their preconditioner and their batches.
    /// </summary>
    TrainingResult Fit(Matrix x, Matrix y, Matrix? validationX = null, Matrix? validationY = null, int classCount = 0,
        IProgress<TrainingProgress>? progress = null, ITrainingObserver? observer = null, CancellationToken cancellationToken = default);
}

/// <summary>Dataset-level training for every <see cref="IKernelSolver"/>.</summary>
public static class KernelSolverExtensions
{
    /// <summary>Trains on a dataset (one-hot targets for classification), evaluating on <paramref name="validation"/> after every epoch.</summary>
    public static TrainingResult Fit(this IKernelSolver solver, Dataset train, Dataset? validation = null,
        IProgress<TrainingProgress>? progress = null, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentNullException.ThrowIfNull(train);
        var result = solver.Fit(train.Features, train.TargetMatrix(), validation?.Features, validation?.TargetMatrix(), train.ClassCount,
            progress, observer, cancellationToken);
        return result with { Model = result.Model.WithClasses(train.ClassCount, train.ClassNames) };
    }
}

/// <summary>The input checks every solver makes before it starts.</summary>
internal static class TrainingInput
{
    public static void Check(Matrix x, Matrix y, Matrix? validationX, Matrix? validationY, int minRows, string solver)
    {
        ArgumentNullException.ThrowIfNull(x);
        Check(x.Rows, x.Columns, y, validationX, validationY, minRows, solver);
    }

    /// <summary>The same for rows read from a source (their values are checked as they are read).</summary>
    public static void Check(IRowSource x, Matrix y, Matrix? validationX, Matrix? validationY, int minRows, string solver)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Count > Array.MaxLength) throw new ArgumentException($"{x.Name}: {x.Count} rows; at most {Array.MaxLength} are supported.", nameof(x));
        Check(x.Count, x.Dimension, y, validationX, validationY, minRows, solver);
    }

    private static void Check(long rows, int columns, Matrix y, Matrix? validationX, Matrix? validationY, int minRows, string solver)
    {
        ArgumentNullException.ThrowIfNull(y);
        if (rows < minRows) throw new ArgumentException($"{solver} needs at least {minRows} training rows, found {rows}.", "x");
        if (y.Rows != rows) throw new ArgumentException($"x has {rows} rows but y has {y.Rows}.", nameof(y));
        if (y.Columns < 1) throw new ArgumentException("y has no columns.", nameof(y));
        Guard.AllFinite(y, nameof(y));
        if ((validationX is null) != (validationY is null)) throw new ArgumentException("Give both validation features and targets, or neither.");
        if (validationX is null) return;
        if (validationX.Columns != columns)
            throw new ArgumentException($"Validation features have {validationX.Columns} columns, training features {columns}.", nameof(validationX));
        if (validationY!.Rows != validationX.Rows)
            throw new ArgumentException($"Validation features have {validationX.Rows} rows but targets {validationY.Rows}.", nameof(validationY));
        if (validationY.Columns != y.Columns)
            throw new ArgumentException($"Validation targets have {validationY.Columns} columns, training targets {y.Columns}.", nameof(validationY));
        Guard.AllFinite(validationY, nameof(validationY));
    }
}
