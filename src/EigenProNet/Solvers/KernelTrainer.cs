using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Solvers;

/// <summary>Which solver a <see cref="KernelTrainer"/> runs.</summary>
public enum SolverKind
{
    /// <summary>The direct solver when n ≤ <see cref="KernelTrainer.AutoDirectLimit"/> and K(X, X) fits the budget, else EigenPro 2.</summary>
    Auto,
    /// <summary><see cref="DirectSolver"/>: K + λI factorised; exact, O(n²) memory.</summary>
    Direct,
    /// <summary><see cref="Solvers.EigenPro2"/>: every training row a center.</summary>
    EigenPro2,
    /// <summary><see cref="Solvers.EigenPro3"/>: p centers decoupled from the n training rows.</summary>
    EigenPro3,
    /// <summary><see cref="Solvers.EigenPro4"/>: EigenPro 3's model with the projection delayed.</summary>
    EigenPro4,
}

/// <summary>
/// What a <see cref="KernelTrainer"/> does: the scaling fitted on the training rows, the solver, and each solver's own
/// options (only the chosen solver's are read).
/// </summary>
public sealed record KernelTrainerOptions
{
    /// <summary>The solver (default EigenPro 2).</summary>
    public SolverKind Solver { get; init; } = SolverKind.EigenPro2;

    /// <summary>
    /// Scaling fitted on the training rows and applied to them and to the validation rows; the model carries it, so
    /// <c>Predict</c> takes raw rows (default none; <see cref="Preprocessor.DefaultScaling"/> gives the CLI's choice per format).
    /// </summary>
    public Scaling Scaling { get; init; } = Scaling.None;

    /// <summary>Scale the datasets' own matrices instead of copies (saves one copy of the data; the datasets are changed).</summary>
    public bool ScaleInPlace { get; init; }

    /// <summary>Ridge λ of the direct solver.</summary>
    public double Ridge { get; init; }

    /// <summary>EigenPro 2's options (also the fallback of <see cref="SolverKind.Auto"/>).</summary>
    public EigenPro2Options EigenPro2 { get; init; } = new();

    /// <summary>EigenPro 3's options.</summary>
    public EigenPro3Options EigenPro3 { get; init; } = new();

    /// <summary>EigenPro 4's options.</summary>
    public EigenPro4Options EigenPro4 { get; init; } = new();

    /// <summary>Memory budget of every solver, the choice of <see cref="SolverKind.Auto"/> and the direct solve; when set it replaces the solver options' own.</summary>
    public MemoryBudget? Budget { get; init; }

    /// <summary>Threads and SIMD path of everything the trainer runs; when set it replaces the solver options' own.</summary>
    public ComputeContext? Compute { get; init; }
}

/// <summary>
/// A kernel estimator from raw rows to a model that takes raw rows: fit the scaling on the training rows, scale, choose
/// and run the solver, attach the scaling to the model — what <c>eigenpro train</c> does, as one call (scikit-learn's
/// <c>make_pipeline(scaler, estimator)</c>).
/// </summary>
public sealed class KernelTrainer
{
    /// <summary>Most training rows <see cref="SolverKind.Auto"/> gives to the direct solver.</summary>
    public const int AutoDirectLimit = 5000;

    /// <summary>Creates the trainer.</summary>
    public KernelTrainer(Kernel kernel, KernelTrainerOptions? options = null)
    {
        Kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        Options = options ?? new KernelTrainerOptions();
        if (!(Options.Ridge >= 0) || !double.IsFinite(Options.Ridge))
            throw new ArgumentException($"The ridge must be finite and ≥ 0, found {Options.Ridge}.", nameof(options));
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>The settings.</summary>
    public KernelTrainerOptions Options { get; }

    /// <summary>The solver <paramref name="kind"/> means for <paramref name="trainingRows"/> rows (<see cref="SolverKind.Auto"/> resolved).</summary>
    public static SolverKind Resolve(SolverKind kind, int trainingRows, MemoryBudget? budget = null) =>
        kind != SolverKind.Auto ? kind
        : trainingRows <= AutoDirectLimit && DirectSolver.RequiredBytes(trainingRows) <= (budget ?? MemoryBudget.Default).Bytes ? SolverKind.Direct
        : SolverKind.EigenPro2;

    /// <summary>The solver this trainer runs on <paramref name="trainingRows"/> rows, with its options.</summary>
    public IKernelSolver CreateSolver(int trainingRows)
    {
        var o = Options;
        return Resolve(o.Solver, trainingRows, o.Budget) switch
        {
            SolverKind.Direct => new DirectSolver(Kernel, o.Ridge, o.Budget, o.Compute),
            SolverKind.EigenPro3 => new EigenPro3(Kernel, Machine(o.EigenPro3)),
            SolverKind.EigenPro4 => new EigenPro4(Kernel, Machine(o.EigenPro4)),
            _ => new EigenPro2(Kernel, Machine(o.EigenPro2)),
        };
    }

    private T Machine<T>(T options) where T : SolverOptions =>
        options with { Budget = Options.Budget ?? options.Budget, Compute = Options.Compute ?? options.Compute };

    /// <summary>
    /// Fits the scaling on <paramref name="train"/>, scales it and <paramref name="validation"/> (copies unless
    /// <see cref="KernelTrainerOptions.ScaleInPlace"/>), trains, and returns the model with the scaling attached.
    /// </summary>
    public TrainingResult Fit(Dataset train, Dataset? validation = null, IProgress<TrainingProgress>? progress = null,
        ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        var solver = CreateSolver(train.Count);
        if (Options.Scaling == Scaling.None) return solver.Fit(train, validation, progress, observer, cancellationToken);
        var scaling = Preprocessor.Fit(Options.Scaling, train.Features);
        Dataset Scale(Dataset data) => scaling.Transform(data, Options.ScaleInPlace, Options.Compute);
        var result = solver.Fit(Scale(train), validation is null ? null : Scale(validation), progress, observer, cancellationToken);
        return result with { Model = result.Model.WithPreprocessor(scaling) };
    }

    /// <summary>
    /// Trains EigenPro 3 or 4 on rows read a batch at a time (a memory-mapped .npy, say: used as stored, no scaling)
    /// with their targets (n × c) and <paramref name="classCount"/> classes (0 for regression).
    /// </summary>
    /// <exception cref="NotSupportedException">The solver is not EigenPro 3 or 4 (the others hold the rows in memory).</exception>
    public TrainingResult Fit(IRowSource rows, Matrix targets, int classCount, Dataset? validation = null, IProgress<TrainingProgress>? progress = null,
        ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (Options.Scaling != Scaling.None)
            throw new NotSupportedException($"Rows read from {rows.Name} are used as stored; scale them when writing them (scaling {Options.Scaling} was asked for).");
        if (CreateSolver((int)Math.Min(rows.Count, int.MaxValue)) is not CenterModelSolver solver)
            throw new NotSupportedException($"Rows read a batch at a time train EigenPro 3 or 4, not {Options.Solver}.");
        return solver.Fit(rows, targets, validation?.Features, validation?.TargetMatrix(), classCount, progress, observer, cancellationToken);
    }
}
