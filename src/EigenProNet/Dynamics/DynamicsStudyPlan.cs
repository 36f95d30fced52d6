using System.Globalization;
using EigenProNet.Data;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.Networks;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Dynamics;

/// <summary>
/// The data a study watches: where it came from (as run.json records it — the CLI gives the path relative to where it
/// ran, so a report carries no machine's absolute paths), the splits already scaled, the scaling, the pinned
/// subsample drawn from the scaled training rows, and the seed.
/// </summary>
/// <param name="Source">The data's name or path, as recorded.</param>
/// <param name="Train">The training rows, scaled.</param>
/// <param name="Test">The test rows, scaled the same way (or null).</param>
/// <param name="Scaling">How they were scaled (recorded).</param>
/// <param name="Subsample">The pinned subsample (<see cref="PinnedSubsample.Draw"/>) every snapshot is taken on.</param>
/// <param name="Seed">The seed of the trainer's random choices.</param>
public sealed record DynamicsStudyData(string Source, Dataset Train, Dataset? Test, Scaling Scaling, PinnedSubsample Subsample, int Seed);

/// <summary>
/// A study ready to run (spec dynamics.md §4–5): what run.json records of it, the recorder's options, the pinned
/// subsample and the trainer — one factory per kind of trainer (<see cref="Network"/>, <see cref="FixedKernel"/>,
/// <see cref="Rfm"/>), shared by the CLI's studies and by <see cref="DynamicsComparison"/>.
/// </summary>
public sealed class DynamicsStudyPlan
{
    private readonly Func<int, int, int[], IKernelSolver>? _resampleSolver;
    private readonly DynamicsStudyData _data;

    private DynamicsStudyPlan(DynamicsStudyData data, Dictionary<string, object?> settings, DynamicsOptions recorder, DynamicsTrainer trainer,
        IReadOnlyList<string> notes, Func<int, int, int[], IKernelSolver>? resampleSolver = null)
    {
        _data = data;
        Settings = settings;
        Recorder = recorder;
        Trainer = trainer;
        Notes = notes;
        _resampleSolver = resampleSolver;
    }

    /// <summary>What run.json records (a resumed run must repeat it).</summary>
    public IReadOnlyDictionary<string, object?> Settings { get; }

    /// <summary>The recorder's options.</summary>
    public DynamicsOptions Recorder { get; }

    /// <summary>The pinned subsample.</summary>
    public PinnedSubsample Subsample => _data.Subsample;

    /// <summary>The trainer the recorder watches.</summary>
    public DynamicsTrainer Trainer { get; }

    /// <summary>Settings that were adjusted to the data (clamped center counts), in words.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Runs the study in-run (one model, a snapshot per epoch or iteration) into <paramref name="directory"/>; see <see cref="DynamicsStudy.Run"/>.</summary>
    public DynamicsStudyResult Run(string directory, bool overwrite = false, bool resume = false, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        new DynamicsStudy(Settings, Recorder).Run(directory, Subsample, Trainer, overwrite, resume, progress, cancellationToken);

    /// <summary>
    /// The original study's resample protocol (fixed-kernel studies only): a fresh model per epoch budget, each on its
    /// own Nyström sample; see <see cref="DynamicsStudy.RunResample"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The study's kernel moves (network, RFM): only a fixed kernel is resampled.</exception>
    public DynamicsStudyResult RunResample(string directory, IReadOnlyList<int> budgets, bool overwrite = false, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        if (_resampleSolver is null) throw new NotSupportedException($"The {Settings["study"]} study trains one model whose kernel moves; only a fixed-kernel study is resampled.");
        if (budgets.Count == 0) throw new ArgumentException("Give at least one epoch budget.", nameof(budgets));
        var settings = new Dictionary<string, object?>(Settings) { ["protocol"] = "resample", ["budgets"] = budgets.ToArray(), ["epochs"] = budgets.Max() };
        var (train, test) = (_data.Train, _data.Test);
        return new DynamicsStudy(settings, Recorder).RunResample(directory, train, Subsample.Indices.Length, _data.Seed, budgets,
            (epochs, modelSeed, sample, recorder, p, token) =>
                _resampleSolver(epochs, modelSeed, sample).Fit(train, test, p, recorder, token).Epochs.Sum(e => e.Seconds),
            overwrite, progress, cancellationToken);
    }

    /// <summary>The settings every study records, then the study's own (<paramref name="extra"/>, in order).</summary>
    private static Dictionary<string, object?> StudySettings(string study, DynamicsStudyData data, string kernel, string solver, DynamicsOptions recorder,
        params (string Key, object? Value)[] extra)
    {
        var settings = new Dictionary<string, object?>
        {
            ["study"] = study, ["data"] = data.Source, ["train_rows"] = data.Train.Count, ["test_rows"] = data.Test?.Count,
            ["features"] = data.Train.Dimension, ["classes"] = data.Train.ClassCount, ["kernel"] = kernel, ["solver"] = solver, ["seed"] = data.Seed,
            ["subsample_size"] = data.Subsample.Indices.Length, ["tracked_eigenvectors"] = recorder.TrackedEigenvectors, ["protocol"] = "in-run",
        };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    /// <summary>The recorded name of a scaling (the CLI's spelling).</summary>
    private static string ScalingName(Scaling scaling) => scaling switch
    {
        Scaling.UnitRange => "unit-range",
        _ => scaling.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// A ReLU network trained by SGD, its empirical NTK Θ_t watched on the subsample before training, at
    /// <see cref="DynamicsOptions.RecordSteps"/> (geometric when null) and after every epoch.
    /// </summary>
    public static DynamicsStudyPlan Network(DynamicsStudyData data, NetworkTrainerOptions network, DynamicsOptions recorder)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(recorder);
        network = network with { Seed = data.Seed };
        string kernel = FormattableString.Invariant(
            $"empirical NTK of ReluNetwork(width={network.Width}, depth={network.Depth}{(network.BiasScale != 0 ? $", bias β={network.BiasScale:G4}" : "")})");
        var settings = StudySettings("network", data, kernel, "sgd" + (network.Momentum > 0 ? " with momentum" : ""), recorder,
            ("width", network.Width), ("depth", network.Depth),
            ("learning_rate", network.LearningRate is double lr ? lr : "auto (1/λ₁ of the initial batch NTK)"),
            ("batch_size", network.BatchSize), ("momentum", network.Momentum),
            ("loss", network.Loss == NetworkLoss.CrossEntropy ? "cross-entropy" : "mse"), ("bias", network.BiasScale), ("epochs", network.Epochs),
            ("record_steps", recorder.RecordSteps is { } steps ? string.Join(",", steps.Order()) : "geometric"), ("scaling", ScalingName(data.Scaling)),
            ("time_unit", "epoch (snapshots t = SGD steps)"));
        return new DynamicsStudyPlan(data, settings, recorder, DynamicsTrainer.ForNetwork(network, data.Train, data.Test), []);
    }

    /// <summary>
    /// A fixed kernel (the NTK, or any) trained by EigenPro 3 or 4 (<paramref name="solver"/>: <see cref="EigenPro3Options"/>
    /// or <see cref="EigenPro4Options"/>), its data preconditioner on the pinned subsample: the eigenvectors cannot move,
    /// the residual along them can. Centers beyond the training rows are clamped (and noted).
    /// </summary>
    public static DynamicsStudyPlan FixedKernel(DynamicsStudyData data, Kernel kernel, CenterModelOptions solver, DynamicsOptions recorder)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentNullException.ThrowIfNull(recorder);
        if (solver is not (EigenPro3Options or EigenPro4Options))
            throw new ArgumentException($"A fixed-kernel study trains EigenPro 3 or 4, not {solver.GetType().Name}.", nameof(solver));
        var notes = new List<string>();
        int s = data.Subsample.Indices.Length, centers = Math.Min(solver.CenterCount, data.Train.Count);
        if (solver.Centers is null && centers < solver.CenterCount)
            notes.Add($"{solver.CenterCount} centers clamped to the {data.Train.Count} training rows");
        var options = solver with
        {
            CenterCount = centers, DataSubsampleSize = s, DataSubsampleIndices = data.Subsample.Indices,
            DataLevel = Math.Min(solver.DataLevel, s - 1), Seed = data.Seed,
        };
        string name = options is EigenPro4Options ? "eigenpro4" : "eigenpro3";
        var settings = StudySettings("ntk", data, kernel.ToString(), name, recorder,
            ("centers", solver.Centers?.Rows ?? centers), ("scaling", ScalingName(data.Scaling)), ("data_level", options.DataLevel),
            ("beta", BetaEstimates.Name(options.Beta)), ("epochs", options.Epochs));
        var trainer = DynamicsTrainer.ForSolver(from => CenterModelSolver.Create(kernel, options with { ResumeFrom = from }), kernel, data.Train, data.Test);
        return new DynamicsStudyPlan(data, settings, recorder, trainer, notes,
            (epochs, modelSeed, sample) => CenterModelSolver.Create(kernel, options with { Epochs = epochs, Seed = modelSeed, DataSubsampleIndices = sample }));
    }

    /// <summary>
    /// A Recursive Feature Machine whose inner EigenPro 2 keeps the pinned subsample as its Nyström sample at every
    /// iteration: K_{M_t}'s eigensystem, M_t's and the scores after every iteration.
    /// </summary>
    public static DynamicsStudyPlan Rfm(DynamicsStudyData data, RecursiveFeatureMachineOptions rfm, DynamicsOptions recorder)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(rfm);
        ArgumentNullException.ThrowIfNull(recorder);
        var options = rfm with
        {
            Solver = RfmSolver.EigenPro2, Seed = data.Seed,
            EigenPro = (rfm.EigenPro ?? new EigenPro2Options { Epochs = 10 }) with { SubsampleIndices = data.Subsample.Indices, SubsampleSize = null, EvaluateEveryEpoch = false, Seed = data.Seed },
        };
        string family = string.Create(CultureInfo.InvariantCulture,
            $"Mahalanobis{options.Kernel}(L={options.Bandwidth}, {(options.Diagonal ? "diagonal" : "full")} M learned, M₀ = {(options.InitialM is null ? "I" : "given")})");
        var settings = StudySettings("rfm", data, family, "rfm (EigenPro 2 inside)", recorder,
            ("iterations", options.Iterations), ("bandwidth", options.Bandwidth), ("diagonal_m", options.Diagonal), ("inner_epochs", options.EigenPro!.Epochs),
            ("scaling", ScalingName(data.Scaling)));
        return new DynamicsStudyPlan(data, settings, recorder, DynamicsTrainer.ForRfm(options, data.Train, data.Test), []);
    }
}
