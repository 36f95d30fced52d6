using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.FeatureLearning;

/// <summary>The kernel family whose Mahalanobis matrix RFM learns.</summary>
public enum RfmKernel
{
    /// <summary>exp(−‖x − z‖_M / L) (default).</summary>
    Laplace,
    /// <summary>exp(−‖x − z‖²_M / (2L²)).</summary>
    Gaussian,
}

/// <summary>How each RFM iteration solves for the weights.</summary>
public enum RfmSolver
{
    /// <summary>The direct solver when K and its factor fit the memory budget, EigenPro 2 otherwise.</summary>
    Auto,
    /// <summary>Kernel ridge regression by Cholesky, (K + λI)⁻¹Y.</summary>
    Direct,
    /// <summary>EigenPro 2 (no ridge: its epochs regularise), on a Nyström subsample pinned for the whole run.</summary>
    EigenPro2,
}

/// <summary>Settings of <see cref="RecursiveFeatureMachine"/>; the defaults are the Science-paper code's (spec rfm-and-dynamics.md §1.4).</summary>
public sealed record RecursiveFeatureMachineOptions
{
    /// <summary>Kernel family (Laplace by default).</summary>
    public RfmKernel Kernel { get; init; } = RfmKernel.Laplace;

    /// <summary>Bandwidth L (10).</summary>
    public double Bandwidth { get; init; } = 10;

    /// <summary>Learn a diagonal M (a weight per feature) instead of a full d × d matrix.</summary>
    public bool Diagonal { get; init; }

    /// <summary>Ridge λ of the direct solve (1e-3).</summary>
    public double Ridge { get; init; } = 1e-3;

    /// <summary>Iterations T: T solves, each followed by an AGOP update (5).</summary>
    public int Iterations { get; init; } = 5;

    /// <summary>The inner solver (Auto: direct when it fits the budget).</summary>
    public RfmSolver Solver { get; init; } = RfmSolver.Auto;

    /// <summary>
    /// Settings of the inner EigenPro 2 solve (default: 10 epochs, Nyström subsample min(n, 2 000) pinned for the run,
    /// as in the study). Its budget, compute context and seed are RFM's unless set here.
    /// </summary>
    public EigenPro2Options? EigenPro { get; init; }

    /// <summary>Most training points the AGOP is averaged over (20 000); above it a sample drawn with replacement, as the reference does.</summary>
    public int AgopSampleSize { get; init; } = 20_000;

    /// <summary>Scaling of the AGOP into the next M (mean by default).</summary>
    public AgopNormalization Normalization { get; init; } = AgopNormalization.Mean;

    /// <summary>Subtract the mean gradient per output before the outer products.</summary>
    public bool CenterGradients { get; init; }

    /// <summary>M₀ (d × d, or 1 × d when <see cref="Diagonal"/>); the identity when null.</summary>
    public Matrix? InitialM { get; init; }

    /// <summary>
    /// Number of the first iteration: a run continued from a saved M_t starts at t with <see cref="InitialM"/> = M_t and
    /// <see cref="Iterations"/> = T − t, and then repeats the interrupted run's iterations exactly (every random choice
    /// is drawn before the first iteration).
    /// </summary>
    public int FirstIteration { get; init; }

    /// <summary>Seed of every random choice (the AGOP sample, EigenPro's subsample and shuffles).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Working-memory budget (default: a quarter of the available memory).</summary>
    public MemoryBudget? Budget { get; init; }

    /// <summary>Threads and SIMD path.</summary>
    public ComputeContext? Compute { get; init; }
}

/// <summary>One RFM iteration: the solve with M_t, its scores and times.</summary>
/// <param name="Iteration">t (0-based; M₀ = I at t = 0).</param>
/// <param name="SolveSeconds">Time of the kernel solve (with its evaluation).</param>
/// <param name="AgopSeconds">Time of the AGOP update that follows it.</param>
/// <param name="TrainMse">MSE on the training rows (EigenPro 2: its evaluation subset).</param>
/// <param name="TrainAccuracy">Training accuracy (classification only).</param>
/// <param name="ValidationMse">Validation MSE, when validation data was given.</param>
/// <param name="ValidationAccuracy">Validation accuracy (classification with validation data).</param>
/// <param name="Jitter">Diagonal jitter the direct solve needed (0 when none).</param>
public sealed record RfmIterationReport(int Iteration, double SolveSeconds, double AgopSeconds, double TrainMse, double? TrainAccuracy,
    double? ValidationMse, double? ValidationAccuracy, double Jitter);

/// <summary>What an RFM observer sees after each iteration's solve (read-only: do not modify).</summary>
/// <param name="Iteration">t (0-based).</param>
/// <param name="M">M_t, the matrix the solve used (1 × d when diagonal).</param>
/// <param name="Model">The fitted model f_t.</param>
/// <param name="Report">Its scores.</param>
/// <param name="Preconditioner">The inner EigenPro 2 solve's Nyström preconditioner (its subsample is the same at every t), or null for a direct solve.</param>
public sealed record RfmIteration(int Iteration, Matrix M, KernelModel Model, RfmIterationReport Report, NystromPreconditioner? Preconditioner);

/// <summary>Watches an RFM run, one callback per iteration (the dynamics recorder subscribes here).</summary>
public interface IFeatureLearningObserver
{
    /// <summary>Iteration t's solve is done (before the AGOP update that follows it).</summary>
    void OnIteration(RfmIteration iteration);
}

/// <summary>What an RFM run produced.</summary>
/// <param name="Model">The selected model: kernel with M_best, the training rows as centers, its weights.</param>
/// <param name="M">M of the selected iteration (the matrix its solve used).</param>
/// <param name="BestIteration">The selected iteration t* (its M is <paramref name="Matrices"/>[t* − first iteration]).</param>
/// <param name="SelectedOnValidation">False when no validation data was given: the last iteration is returned.</param>
/// <param name="Iterations">One report per iteration.</param>
/// <param name="Matrices">M₀ … M_T (from M_first when continued): the matrix of every solve and the final update.</param>
/// <param name="Settings">The run's settings, with the inner solver's of the selected iteration.</param>
public sealed record RfmResult(KernelModel Model, Matrix M, int BestIteration, bool SelectedOnValidation, IReadOnlyList<RfmIterationReport> Iterations,
    IReadOnlyList<Matrix> Matrices, RfmSettings Settings)
{
    /// <summary>The run as a <see cref="TrainingResult"/>: one "epoch" per iteration, the best one marked.</summary>
    public TrainingResult ToTrainingResult() => new(Model, Iterations.Select(AsEpoch).ToArray(), Settings, BestIteration + 1);

    /// <summary>Iteration t as epoch t + 1 (solve and AGOP update).</summary>
    internal static EpochReport AsEpoch(RfmIterationReport r) =>
        new(r.Iteration + 1, r.SolveSeconds + r.AgopSeconds, 0, r.TrainMse, r.TrainAccuracy, r.ValidationMse, r.ValidationAccuracy);
}

/// <summary>What an RFM run chose: its iterations and the selected iteration's inner solve, as that solver reports it.</summary>
public sealed record RfmSettings : SolverSettings
{
    /// <summary>Settings of an RFM run.</summary>
    public RfmSettings() : base("rfm") { }
    /// <summary>Iterations run.</summary>
    public int Iterations { get; init; }
    /// <summary>The inner solver's settings of the selected iteration (<see cref="DirectSettings"/> or <see cref="EigenPro2Settings"/>).</summary>
    public required SolverSettings Inner { get; init; }
}

/// <summary>
/// Recursive Feature Machine (Radhakrishnan et al., Science 2024; spec rfm-and-dynamics.md §1): alternate a kernel
/// solve with the Mahalanobis kernel K_M and the update M ← AGOP of the fitted predictor. Starts at M₀ = I; after
/// T iterations returns the iteration with the best validation score (accuracy for classification, MSE otherwise;
/// the earliest on ties) — the M that was used for that solve, not the update after it. As an <see cref="IKernelSolver"/>
/// an iteration is an epoch: a <see cref="ITrainingObserver"/> sees <see cref="ITrainingObserver.OnStart"/> (zero weights
/// with the kernel at M₀), <see cref="ITrainingObserver.OnPreconditioner"/> for every inner EigenPro 2 solve and
/// <see cref="ITrainingObserver.OnEpoch"/> after each iteration's AGOP update with f_t (the inner solves' batches are
/// not forwarded: they train a model of another kernel than the next iteration's).
/// </summary>
public sealed class RecursiveFeatureMachine : IKernelSolver
{
    /// <summary>Creates the machine.</summary>
    public RecursiveFeatureMachine(RecursiveFeatureMachineOptions? options = null)
    {
        Options = options ?? new RecursiveFeatureMachineOptions();
        var o = Options;
        if (!(o.Bandwidth > 0) || !double.IsFinite(o.Bandwidth)) throw new ArgumentException($"The bandwidth must be positive and finite, found {o.Bandwidth}.", nameof(options));
        if (!(o.Ridge >= 0) || !double.IsFinite(o.Ridge)) throw new ArgumentException($"The ridge must be finite and ≥ 0, found {o.Ridge}.", nameof(options));
        if (o.Iterations < 1) throw new ArgumentException($"Iterations must be at least 1, found {o.Iterations}.", nameof(options));
        if (o.AgopSampleSize < 1) throw new ArgumentException($"The AGOP sample size must be at least 1, found {o.AgopSampleSize}.", nameof(options));
        if (o.FirstIteration < 0) throw new ArgumentException($"The first iteration must be ≥ 0, found {o.FirstIteration}.", nameof(options));
    }

    /// <summary>The settings.</summary>
    public RecursiveFeatureMachineOptions Options { get; }

    /// <summary>The study's scaling for data in <paramref name="format"/>: rows of unit length (L2) for image data, none otherwise.</summary>
    public static Scaling DefaultScaling(DatasetFormat format) =>
        format is DatasetFormat.CifarBinary or DatasetFormat.Idx ? Scaling.L2 : Scaling.None;

    TrainingResult IKernelSolver.Fit(Matrix x, Matrix y, Matrix? validationX, Matrix? validationY, int classCount,
        IProgress<TrainingProgress>? progress, ITrainingObserver? observer, CancellationToken cancellationToken) =>
        Fit(x, y, validationX, validationY, classCount, progress, null, observer, cancellationToken).ToTrainingResult();

    /// <summary>Trains on a dataset (one-hot targets for classification), selecting the iteration on <paramref name="validation"/>.</summary>
    public RfmResult Fit(Dataset train, Dataset? validation = null, IProgress<TrainingProgress>? progress = null,
        IFeatureLearningObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        var result = Fit(train.Features, train.TargetMatrix(), validation?.Features, validation?.TargetMatrix(), train.ClassCount,
            progress, observer, cancellationToken);
        return result with { Model = result.Model.WithClasses(train.ClassCount, train.ClassNames) };
    }

    /// <summary>
    /// Trains on features <paramref name="x"/> (n × d, already scaled) and targets <paramref name="y"/> (n × c).
    /// <paramref name="classCount"/> &gt; 0 scores accuracies and selects on validation accuracy. Progress reports carry
    /// the iteration as their epoch: phase "solve" (the inner solver's own batches) and "agop" (batches of sample points).
    /// </summary>
    /// <exception cref="ArgumentException">Empty data, mismatched shapes, NaN/Inf, an M₀ of the wrong shape, or options out of range.</exception>
    /// <exception cref="MemoryBudgetExceededException">A direct solve was asked for and does not fit the budget.</exception>
    public RfmResult Fit(Matrix x, Matrix y, Matrix? validationX = null, Matrix? validationY = null, int classCount = 0,
        IProgress<TrainingProgress>? progress = null, IFeatureLearningObserver? observer = null, CancellationToken cancellationToken = default) =>
        Fit(x, y, validationX, validationY, classCount, progress, observer, null, cancellationToken);

    private RfmResult Fit(Matrix x, Matrix y, Matrix? validationX, Matrix? validationY, int classCount, IProgress<TrainingProgress>? progress,
        IFeatureLearningObserver? observer, ITrainingObserver? epochObserver, CancellationToken cancellationToken)
    {
        TrainingInput.Check(x, y, validationX, validationY, 2, "RFM");
        Guard.AllFinite(x, nameof(x));
        var o = Options;
        int n = x.Rows, d = x.Columns, iterations = o.Iterations;
        var budget = o.Budget ?? MemoryBudget.Default;
        var compute = o.Compute ?? ComputeContext.Default;
        var m = o.InitialM ?? Identity(d, o.Diagonal);
        if (o.InitialM is not null && (m.Columns != d || m.Rows != (o.Diagonal ? 1 : d)))
            throw new ArgumentException($"M₀ must be {(o.Diagonal ? $"1 × {d}" : $"{d} × {d}")} for {d} features, found {m.Rows} × {m.Columns}.", nameof(Options));
        var random = SeedStreams.Create(o.Seed, SeedStreams.AgopRows);
        // The AGOP points: all training rows up to the cap, else a sample with replacement (spec §1.4), fixed for the run.
        int[]? agopRows = n <= o.AgopSampleSize ? null : Enumerable.Range(0, o.AgopSampleSize).Select(_ => random.Next(n)).ToArray();
        // What the loop holds besides one solve or one AGOP: the current model's rows in the feature map of its M
        // (x·M^{1/2}, n × d), the AGOP sample's and the matrices M_t. The solve and the AGOP size
        // their buffers within what is left (the AGOP within 60 % of it: the solve's garbage may not be collected yet).
        (string, long)[] held =
        [
            ("the current model's feature rows", 4L * n * d), ("the AGOP sample", agopRows is null ? 0 : 4L * agopRows.Length * d),
            ("the matrices M_t", 4L * (iterations + 1) * m.Data.LongLength),
        ];
        var working = budget.After($"RFM on {n} rows", held);
        bool direct = o.Solver switch
        {
            RfmSolver.Direct => true,
            RfmSolver.EigenPro2 => false,
            _ => DirectSolver.RequiredBytes(n) <= working.Bytes,
        };
        if (direct) budget.Require($"RFM with the direct solve on {n} rows (the EigenPro 2 solve needs far less)", [.. held, ($"the {n}×{n} kernel matrix and its factor", DirectSolver.RequiredBytes(n))]);
        var agopBudget = working.Share(0.6);
        var innerOptions = direct ? null : InnerEigenPro(n, working, compute);

        var matrices = new List<Matrix> { m };
        var reports = new List<RfmIterationReport>();
        // The selected iteration is kept as its weights (its M is in matrices): its model, whose prepared rows are as
        // large as the data, is rebuilt at the end rather than held through every later iteration.
        Matrix? bestWeights = null;
        SolverSettings? bestSettings = null;
        int bestIteration = -1;
        double bestScore = double.NaN;
        bool hasValidation = validationX is not null;
        if (epochObserver is not null)
        {
            var start = KernelFor(m);
            epochObserver.OnStart(new KernelModel(start, x, start.Prepare(x, nameof(x), compute), new Matrix(n, y.Columns), classCount));
        }
        for (int t = 0; t < iterations; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int number = o.FirstIteration + t;
            var kernel = KernelFor(m);
            var clock = Stopwatch.StartNew();
            var inner = InnerProgress(progress, number + 1, o.FirstIteration + iterations);
            NystromPreconditioner? preconditioner = null;
            var capture = new PreconditionerCapture(p =>
            {
                preconditioner = p;
                epochObserver?.OnPreconditioner(p);
            });
            TrainingResult solved = direct
                ? new DirectSolver(kernel, o.Ridge, working, compute).Fit(x, y, validationX, validationY, classCount, inner, null, cancellationToken)
                : new EigenPro2(kernel, innerOptions!).Fit(x, y, validationX, validationY, classCount, inner, capture, cancellationToken);
            double solveSeconds = clock.Elapsed.TotalSeconds;
            var last = solved.Epochs[^1];
            var report = new RfmIterationReport(number, solveSeconds, 0, last.TrainMse, last.TrainAccuracy, last.TestMse, last.TestAccuracy,
                (solved.Settings as DirectSettings)?.Jitter ?? 0);
            observer?.OnIteration(new RfmIteration(number, m, solved.Model, report, preconditioner));

            // Strictly better only: the earliest iteration wins ties (the tabular code's rule).
            double score = !hasValidation ? number : classCount > 0 ? last.TestAccuracy!.Value : -last.TestMse!.Value;
            if (bestWeights is null || score > bestScore)
            {
                bestWeights = solved.Model.Weights;
                bestSettings = solved.Settings;
                bestIteration = t;
                bestScore = score;
            }

            clock.Restart();
            MemoryBudget.ReleaseBetweenPhases();   // the solve's buffers, before the AGOP's
            var centers = solved.Model.CenterRows;
            var samples = agopRows is null ? centers : kernel.Prepare(Gather(x, agopRows), "AGOP sample", compute);
            var agopProgress = progress is null ? null : new Relay<(int Done, int Total)>(p =>
                progress.Report(new TrainingProgress("agop", number + 1, o.FirstIteration + iterations, p.Done, p.Total, p.Done, clock.Elapsed)));
            m = Agop.Compute(centers, solved.Model.Weights, samples, o.Diagonal, o.CenterGradients, o.Normalization, agopBudget, compute,
                agopProgress, cancellationToken);
            matrices.Add(m);
            MemoryBudget.ReleaseBetweenPhases();   // the AGOP's buffers, before the next solve's
            reports.Add(report with { AgopSeconds = clock.Elapsed.TotalSeconds });
            epochObserver?.OnEpoch(RfmResult.AsEpoch(reports[^1]), solved.Model);
        }
        MemoryBudget.ReleaseBetweenPhases();   // the last iteration's model and AGOP, before the selected model is rebuilt
        var bestKernel = KernelFor(matrices[bestIteration]);
        var best = new KernelModel(bestKernel, x, bestWeights!, classCount);
        var settings = new RfmSettings
        {
            Kernel = bestKernel.ToString(),
            TrainingRows = n,
            Iterations = iterations,
            Inner = bestSettings!,
            Warnings = hasValidation ? bestSettings!.Warnings : [.. bestSettings!.Warnings, "no validation data: the last iteration is returned"],
            SetupSeconds = bestSettings.SetupSeconds,
            Seed = o.Seed,
        };
        return new RfmResult(best, matrices[bestIteration], o.FirstIteration + bestIteration, hasValidation, reports, matrices, settings);
    }

    private EigenPro2Options InnerEigenPro(int n, MemoryBudget budget, ComputeContext compute)
    {
        // Only the final model of each inner solve is scored (per-epoch evaluation would cost more than the training).
        var given = Options.EigenPro ?? new EigenPro2Options { Epochs = 10, EvaluateEveryEpoch = false };
        int s = given.SubsampleIndices?.Count ?? given.SubsampleSize ?? (n < 100_000 ? Math.Min(n, 2000) : 12_000);
        if (s > n) throw new ArgumentException($"The EigenPro subsample size {s} is larger than the {n} training rows.", nameof(Options));
        int seed = Options.EigenPro is null ? Options.Seed : given.Seed;
        // One subsample for every iteration (the one EigenPro 2 would draw itself): the eigensystems of successive
        // kernels are then comparable point by point.
        var pinned = given.SubsampleIndices ?? NystromPreconditioner.DrawSubsample(n, s, seed);
        return given with
        {
            Seed = seed,
            SubsampleSize = s,
            SubsampleIndices = pinned,
            Budget = given.Budget ?? budget,
            Compute = given.Compute ?? compute,
        };
    }

    private MahalanobisKernel KernelFor(Matrix m) => Options.Kernel switch
    {
        RfmKernel.Gaussian => m.Rows == 1 && Options.Diagonal ? new MahalanobisGaussianKernel(Options.Bandwidth, m.Row(0)) : new MahalanobisGaussianKernel(Options.Bandwidth, m),
        _ => m.Rows == 1 && Options.Diagonal ? new MahalanobisLaplaceKernel(Options.Bandwidth, m.Row(0)) : new MahalanobisLaplaceKernel(Options.Bandwidth, m),
    };

    private static Matrix Identity(int d, bool diagonal)
    {
        if (diagonal)
        {
            var ones = new Matrix(1, d);
            ones.Data.AsSpan().Fill(1f);
            return ones;
        }
        var m = new Matrix(d, d);
        for (int i = 0; i < d; i++) m[i, i] = 1f;
        return m;
    }

    private static Matrix Gather(Matrix x, int[] rows)
    {
        var g = new Matrix(rows.Length, x.Columns);
        for (int i = 0; i < rows.Length; i++) x.Row(rows[i]).CopyTo(g.Row(i));
        return g;
    }

    private static IProgress<TrainingProgress>? InnerProgress(IProgress<TrainingProgress>? progress, int iteration, int iterations) =>
        progress is null ? null : new Relay<TrainingProgress>(p =>
            progress.Report(p with { Phase = p.Phase == "setup" ? "setup" : "solve", Epoch = iteration, Epochs = iterations }));

    /// <summary>Reports synchronously on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Relay<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private sealed class PreconditionerCapture(Action<NystromPreconditioner> capture) : ITrainingObserver
    {
        public void OnPreconditioner(NystromPreconditioner preconditioner) => capture(preconditioner);
    }
}
