using EigenProNet.Data;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Networks;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Dynamics;

/// <summary>Settings of a <see cref="DynamicsComparison"/>.</summary>
public sealed record DynamicsComparisonOptions
{
    /// <summary>The network (its depth D gives the fixed NTK's depth D + 1, its epochs every run's length; its seed is <see cref="Seed"/>).</summary>
    public NetworkTrainerOptions Network { get; init; } = new();

    /// <summary>EigenPro 3 centers p of the fixed NTK (random training rows, clamped to n).</summary>
    public int Centers { get; init; } = 5000;

    /// <summary>The RFM run on the same rows and subsample (its scaling L2, as in its study); null: no RFM run.</summary>
    public RecursiveFeatureMachineOptions? Rfm { get; init; }

    /// <summary>Rows s of the pinned subsample every run is watched on.</summary>
    public int SubsampleSize { get; init; } = 2000;

    /// <summary>The recorder's options (tracked eigenvectors, subspaces …); the network's run adds its <see cref="DynamicsOptions.RecordSteps"/>.</summary>
    public DynamicsOptions Recorder { get; init; } = new();

    /// <summary>SGD steps the network's run snapshots inside epochs (null: geometric, 1, 2, 4, … within the first two epochs).</summary>
    public IReadOnlyCollection<int>? RecordSteps { get; init; }

    /// <summary>Seed of every run and of the pinned subsample.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Working-memory budget of the kernel solvers (default: a quarter of the available memory).</summary>
    public MemoryBudget? Budget { get; init; }

    /// <summary>Threads and SIMD path of everything the runs compute.</summary>
    public ComputeContext? Compute { get; init; }
}

/// <summary>One run of a comparison: its name (network, ntk, rfm), the folder it is written to and its plan.</summary>
public sealed record DynamicsComparisonRun(string Name, string Directory, DynamicsStudyPlan Plan);

/// <summary>
/// The network's empirical NTK beside the fixed NTK on the same data (spec dynamics.md §6): the network study
/// (eigenvectors that move) and EigenPro 3 with the analytic NTK of the same depth D + 1 on the same rows, the same
/// pinned subsample and the same number of epochs (eigenvectors that cannot move) — optionally RFM too. Each study
/// scales its own copy of the raw rows as its original did (unit-range; RFM L2). The joint report of the runs, every
/// one on common axes, is <c>Reporting.DynamicsReport.Write(runDirectories, "report.html")</c> (reporting reads runs;
/// the studies do not know it).
/// </summary>
public sealed class DynamicsComparison
{
    /// <summary>Creates the comparison.</summary>
    public DynamicsComparison(DynamicsComparisonOptions? options = null) => Options = options ?? new DynamicsComparisonOptions();

    /// <summary>The settings.</summary>
    public DynamicsComparisonOptions Options { get; }

    /// <summary>
    /// The runs under <paramref name="root"/> (network/, ntk/ and, with RFM, rfm/) on the raw rows <paramref name="train"/>
    /// and <paramref name="test"/> (left as they are); <paramref name="source"/> is the data's name as run.json records it.
    /// </summary>
    /// <exception cref="ArgumentException">The subsample is larger than the training rows, or the data has no class labels.</exception>
    public IReadOnlyList<DynamicsComparisonRun> Plan(string root, string source, Dataset train, Dataset? test)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(train);
        if (!train.IsClassification) throw new ArgumentException($"{train.Source}: the dynamics studies need class labels.", nameof(train));
        var o = Options;
        var compute = o.Compute ?? ComputeContext.Default;
        var recorder = o.Recorder with { Budget = o.Budget ?? o.Recorder.Budget, Compute = o.Compute ?? o.Recorder.Compute };

        var (unitTrain, unitTest) = Scaled(Scaling.UnitRange, train, test, compute);
        var subsample = PinnedSubsample.Draw(unitTrain, o.SubsampleSize, o.Seed);
        var data = new DynamicsStudyData(source, unitTrain, unitTest, Scaling.UnitRange, subsample, o.Seed);
        var network = o.Network with { Compute = o.Compute ?? o.Network.Compute };
        var runs = new List<DynamicsComparisonRun>
        {
            new("network", Path.Combine(root, "network"), DynamicsStudyPlan.Network(data, network, recorder with { RecordSteps = o.RecordSteps })),
            new("ntk", Path.Combine(root, "ntk"), DynamicsStudyPlan.FixedKernel(data, new NtkReluKernel(network.Depth + 1), new EigenPro3Options
            {
                Epochs = network.Epochs, CenterCount = o.Centers, DataLevel = 500, Beta = BetaEstimate.KernelDiagonal, Budget = o.Budget, Compute = o.Compute,
            }, recorder)),
        };
        if (o.Rfm is { } rfm)
        {
            var (l2Train, l2Test) = Scaled(Scaling.L2, train, test, compute);
            var rfmData = new DynamicsStudyData(source, l2Train, l2Test, Scaling.L2, PinnedSubsample.Of(l2Train, subsample.Indices), o.Seed);
            runs.Add(new("rfm", Path.Combine(root, "rfm"), DynamicsStudyPlan.Rfm(rfmData, rfm with { Budget = o.Budget ?? rfm.Budget, Compute = o.Compute ?? rfm.Compute }, recorder)));
        }
        return runs;
    }

    /// <summary>Copies of the raw splits scaled as a study scales them (statistics from the training rows).</summary>
    private static (Dataset Train, Dataset? Test) Scaled(Scaling scaling, Dataset train, Dataset? test, ComputeContext compute)
    {
        var pre = Preprocessor.Fit(scaling, train.Features);
        return (pre.Transform(train, context: compute), test is null ? null : pre.Transform(test, context: compute));
    }

    /// <summary>Runs every planned study in order (see <see cref="Plan"/>); each result names its run directory.</summary>
    /// <param name="root">Folder of the runs.</param>
    /// <param name="source">The data's name as run.json records it.</param>
    /// <param name="train">Raw training rows.</param>
    /// <param name="test">Raw test rows (or null).</param>
    /// <param name="overwrite">Replace runs already there.</param>
    /// <param name="resume">Continue the runs there (same settings; longer runs allowed).</param>
    /// <param name="progress">Progress per run, by its name (null: none).</param>
    /// <param name="cancellationToken">Cancels; each run keeps the snapshots completed before.</param>
    public IReadOnlyList<DynamicsStudyResult> Run(string root, string source, Dataset train, Dataset? test, bool overwrite = false, bool resume = false,
        Func<string, IProgress<TrainingProgress>?>? progress = null, CancellationToken cancellationToken = default) =>
        [.. Plan(root, source, train, test).Select(run => run.Plan.Run(run.Directory, overwrite, resume, progress?.Invoke(run.Name), cancellationToken))];
}
