using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>What every solver promises: shapes, named bad input, save → load → same predictions, cancellation within a batch, same seed → same weights.</summary>
public class SolverContractTests
{
    private static readonly LaplaceKernel Kernel = new(2);

    public static TheoryData<string> Solvers() => new() { "eigenpro2", "direct", "eigenpro3", "eigenpro4", "rfm" };

    private static IKernelSolver Create(string name, int seed = 1) => name switch
    {
        "eigenpro2" => new EigenPro2(Kernel, new EigenPro2Options { Epochs = 2, SubsampleSize = 200, BatchSize = 100, Seed = seed }),
        "direct" => new DirectSolver(Kernel, 1e-3),
        "rfm" => new EigenProNet.FeatureLearning.RecursiveFeatureMachine(new() { Iterations = 2, Bandwidth = 2, Seed = seed }),
        "eigenpro3" => new EigenPro3(Kernel, new EigenPro3Options { Epochs = 2, CenterCount = 150, DataSubsampleSize = 200, DataLevel = 40, BatchSize = 100, Seed = seed }),
        _ => new EigenPro4(Kernel, new EigenPro4Options
        {
            Epochs = 2, CenterCount = 300, DataSubsampleSize = 200, DataLevel = 40, ModelSubsampleSize = 150, ModelLevel = 40, BatchSize = 100,
            Projection = ProjectionMode.Inexact, Seed = seed,
        }),
    };

    /// <summary>Three Gaussian blobs in 10 dimensions: 600 training and 90 test rows.</summary>
    private static (Dataset Train, Dataset Test) Blobs()
    {
        Dataset Make(int n, int seed)
        {
            var x = Matrix.RandomNormal(n, 10, seed);
            var labels = new int[n];
            for (int i = 0; i < n; i++)
            {
                labels[i] = i % 3;
                x[i, labels[i]] += 3f;
            }
            return new Dataset(x, labels, 3, $"blobs{seed}", ["a", "b", "c"]);
        }
        return (Make(600, 1), Make(90, 2));
    }

    private sealed class Synchronous<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [Theory]
    [MemberData(nameof(Solvers))]
    public void ShapesSaveLoadAndSeeds(string name)
    {
        var (train, test) = Blobs();
        var result = Create(name).Fit(train, test);
        var model = result.Model;
        Assert.Equal(3, model.ClassCount);
        Assert.Equal(10, model.Dimension);
        var outputs = model.Predict(test.Features);
        Assert.Equal((90, 3), (outputs.Rows, outputs.Columns));
        Assert.True(model.Score(test) > 0.8, $"{name}: accuracy {model.Score(test)}");
        Assert.All(result.Epochs, e => Assert.NotNull(e.TestAccuracy));
        using var dir = new TempDir();
        model.Save(dir.File("m.epn"));
        var loaded = KernelModel.Load(dir.File("m.epn"));
        Assert.Equal(outputs.Data, loaded.Predict(test.Features).Data);
        Assert.Equal(model.Predict(test.Features).Data, Create(name).Fit(train, test).Model.Predict(test.Features).Data);
    }

    [Theory]
    [MemberData(nameof(Solvers))]
    public void EachSolverReportsItsOwnSettingsRecord(string name)
    {
        // One record type per solver, serialized as that type: only the fields the solver has, none left null.
        var (train, test) = Blobs();
        var settings = Create(name).Fit(train, test).Settings;
        var json = System.Text.Json.JsonSerializer.SerializeToElement(settings,
            new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower });
        var fields = json.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Equal(name, json.GetProperty("solver").GetString());
        Assert.Superset(new HashSet<string> { "solver", "kernel", "training_rows", "warnings", "setup_seconds", "seed" }, fields);
        (string[] has, string[] hasNot, Type type) = name switch
        {
            "direct" => (new[] { "ridge", "jitter" }, new[] { "batch_size", "centers" }, typeof(DirectSettings)),
            "eigenpro2" => (["batch_size", "directions", "preconditioned_top_eigenvalue"], ["ridge", "centers"], typeof(EigenPro2Settings)),
            "eigenpro3" => (["batch_size", "centers", "projection"], ["ridge", "projection_interval", "preconditioned_top_eigenvalue"], typeof(EigenPro3Settings)),
            "eigenpro4" => (["batch_size", "centers", "projection", "projection_interval"], ["ridge"], typeof(EigenPro4Settings)),
            _ => (["iterations", "inner"], ["ridge", "batch_size"], typeof(EigenProNet.FeatureLearning.RfmSettings)),
        };
        Assert.IsType(type, settings);
        Assert.Superset(has.ToHashSet(), fields);
        Assert.Empty(fields.Intersect(hasNot));
        if (name == "rfm") Assert.Equal("direct", json.GetProperty("inner").GetProperty("solver").GetString());
        if (name is "eigenpro4") Assert.Equal(3, json.GetProperty("projection_interval").GetInt32());
        // Only the inexact projection's own fields may be null.
        foreach (var p in json.EnumerateObject())
            if (p.Value.ValueKind == System.Text.Json.JsonValueKind.Null)
                Assert.Contains(p.Name, new[] { "projection_subsample_size", "projection_batch_size" });
    }

    [Theory]
    [MemberData(nameof(Solvers))]
    public void BadInputNamesTheArgument(string name)
    {
        var (train, _) = Blobs();
        var solver = Create(name);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => solver.Fit(train.Features, new Matrix(599, 3))).ParamName);
        var nanY = train.TargetMatrix();
        nanY[5, 1] = float.NaN;
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => solver.Fit(train.Features, nanY)).ParamName);
        var nanX = train.Features.Clone();
        nanX[7, 2] = float.PositiveInfinity;
        var e = Assert.Throws<ArgumentException>(() => solver.Fit(nanX, train.TargetMatrix()));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("(7, 2)", e.Message);
        Assert.Equal("validationX", Assert.Throws<ArgumentException>(() =>
            solver.Fit(train.Features, train.TargetMatrix(), new Matrix(5, 9), new Matrix(5, 3))).ParamName);
    }

    [Theory]
    [MemberData(nameof(Solvers))]
    public void CancellationIsHonouredWithinOneBatch(string name)
    {
        var (train, _) = Blobs();
        using var cts = new CancellationTokenSource();
        int trainReportsAfterCancel = 0;
        var progress = new Synchronous<TrainingProgress>(p =>
        {
            if (cts.IsCancellationRequested && p.Phase == "train") trainReportsAfterCancel++;
            // Cancel as soon as training is under way: after the first batch, or during the direct solver's setup.
            if ((p.Phase == "train" && p.Batch == 1) || (name is "direct" or "rfm" && p.Phase == "setup")) cts.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => Create(name).Fit(train, null, progress, null, cts.Token));
        Assert.True(cts.IsCancellationRequested);
        Assert.Equal(0, trainReportsAfterCancel);
    }

    private sealed class Recorder : ITrainingObserver
    {
        public readonly List<string> Events = [];
        public float StartWeightsMagnitude = float.NaN;
        public void OnPreconditioner(EigenProNet.Preconditioning.NystromPreconditioner preconditioner) => Events.Add($"pre {preconditioner.SubsampleSize}");
        public void OnStart(KernelModel model)
        {
            Events.Add("start");
            StartWeightsMagnitude = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(model.Weights.Data);
        }
        public void OnBatch(int epoch, int batch, KernelModel model) => Events.Add($"batch {epoch}.{batch}");
        public readonly List<EpochReport> Reports = [];
        public readonly List<KernelModel> Models = [];
        public void OnEpoch(EpochReport report, KernelModel model)
        {
            Events.Add($"epoch {report.Epoch}");
            Reports.Add(report);
            Models.Add(model);
        }
    }

    /// <summary>What each solver shows an observer on the blobs (600 rows in batches of 100, 2 epochs).</summary>
    private static string[] ExpectedEvents(string name) => name switch
    {
        // The preconditioner, the t = 0 hook, then every batch and every epoch.
        "eigenpro2" or "eigenpro3" => ["pre 200", "start",
            .. Enumerable.Range(1, 6).Select(b => $"batch 1.{b}"), "epoch 1",
            .. Enumerable.Range(1, 6).Select(b => $"batch 2.{b}"), "epoch 2"],
        // 300 centers hold 300 temporary centers: a projection every 3 batches; only projected batches are shown.
        "eigenpro4" => ["pre 200", "start", "batch 1.3", "batch 1.6", "epoch 1", "batch 2.3", "batch 2.6", "epoch 2"],
        // One solve; RFM's iterations are its epochs (the direct inner solve has no preconditioner).
        "direct" => ["start", "epoch 1"],
        _ => ["start", "epoch 1", "epoch 2"],
    };

    [Theory]
    [MemberData(nameof(Solvers))]
    public void ObserversSeeTheStartEveryBatchAndEveryEpoch(string name)
    {
        var (train, test) = Blobs();
        var recorder = new Recorder();
        var result = Create(name).Fit(train, test, null, recorder);
        Assert.Equal(ExpectedEvents(name), recorder.Events);
        Assert.Equal(0f, recorder.StartWeightsMagnitude);
        // What OnEpoch reported is what the result holds, and the model returned is the one shown at its epoch (the
        // last, or the selected one: RFM's best iteration).
        Assert.Equal(result.Epochs.Select(e => e.TestAccuracy), recorder.Reports.Select(e => e.TestAccuracy));
        int shown = (result.BestEpoch ?? result.Epochs[^1].Epoch) - 1;
        Assert.Equal(result.Model.Predict(test.Features).Data, recorder.Models[shown].Predict(test.Features).Data);
    }

    [Fact]
    public void RfmWithEigenPro2InsideReportsEachIterationsPreconditioner()
    {
        var (train, _) = Blobs();
        var recorder = new Recorder();
        IKernelSolver rfm = new EigenProNet.FeatureLearning.RecursiveFeatureMachine(new()
        {
            Iterations = 2, Bandwidth = 2, Solver = EigenProNet.FeatureLearning.RfmSolver.EigenPro2,
            EigenPro = new EigenPro2Options { Epochs = 1, SubsampleSize = 150, EvaluateEveryEpoch = false },
        });
        rfm.Fit(train, null, null, recorder);
        Assert.Equal(["start", "pre 150", "epoch 1", "pre 150", "epoch 2"], recorder.Events);
    }

    [Fact]
    public void ACompositeObserverForwardsEveryCallInOrder()
    {
        var (train, _) = Blobs();
        var first = new Recorder();
        var second = new Recorder();
        Create("eigenpro2").Fit(train, null, null, new CompositeObserver(first, null, second));
        Assert.Equal(ExpectedEvents("eigenpro2"), first.Events);
        Assert.Equal(first.Events, second.Events);
        Assert.Throws<ArgumentNullException>(() => new CompositeObserver(null!));
    }

    private static IKernelSolver Iterative(string name, int epochs, TrainingCheckpoint? resume) => name switch
    {
        "eigenpro2" => new EigenPro2(Kernel, new EigenPro2Options { Epochs = epochs, SubsampleSize = 200, BatchSize = 100, ResumeFrom = resume }),
        "eigenpro3" => new EigenPro3(Kernel, new EigenPro3Options
        {
            Epochs = epochs, CenterCount = 150, DataSubsampleSize = 200, DataLevel = 40, BatchSize = 100,
            Projection = ProjectionMode.Inexact, ProjectionSubsampleSize = 100, ResumeFrom = resume,
        }),
        _ => new EigenPro4(Kernel, new EigenPro4Options
        {
            Epochs = epochs, CenterCount = 300, DataSubsampleSize = 200, DataLevel = 40, ModelSubsampleSize = 150, ModelLevel = 40,
            BatchSize = 70, Projection = ProjectionMode.Inexact, ResumeFrom = resume,
        }),
    };

    [Theory]
    [InlineData("eigenpro2")]
    [InlineData("eigenpro3")]
    [InlineData("eigenpro4")]
    public void ResumingFromACheckpointGivesTheUninterruptedWeights(string name)
    {
        // Inexact projections and a batch that does not divide p make every random draw count: the resumed run must
        // replay the shuffles of the epochs it skips to end with the same weights, bit for bit.
        var (train, test) = Blobs();
        var whole = Iterative(name, 3, null).Fit(train, test);
        var first = Iterative(name, 1, null).Fit(train, test);
        var resumed = Iterative(name, 3, new TrainingCheckpoint(1, first.Model.Weights.Clone())).Fit(train, test);
        Assert.Equal([2, 3], resumed.Epochs.Select(e => e.Epoch));
        Assert.Equal(whole.Model.Weights.Data, resumed.Model.Weights.Data);
        Assert.Equal(whole.Epochs[^1].TestMse, resumed.Epochs[^1].TestMse);
        // A checkpoint of another shape is refused with the reason.
        var e = Assert.Throws<ArgumentException>(() => Iterative(name, 3, new TrainingCheckpoint(1, new Matrix(7, 3))).Fit(train, test));
        Assert.Contains("another dataset or other settings", e.Message);
    }
}

public class EvaluationScheduleTests
{
    [Theory]
    [InlineData("eigenpro2")]
    [InlineData("eigenpro3")]
    [InlineData("eigenpro4")]
    public void EvaluatingOnlyAfterTheLastEpochTrainsTheSameWeights(string name)
    {
        var x = Matrix.RandomNormal(300, 6, 1);
        var y = Matrix.RandomNormal(300, 2, 2);
        IKernelSolver Make(bool every) => name switch
        {
            "eigenpro2" => new EigenPro2(new LaplaceKernel(2), new EigenPro2Options { Epochs = 3, SubsampleSize = 100, EvaluateEveryEpoch = every }),
            "eigenpro3" => new EigenPro3(new LaplaceKernel(2), new EigenPro3Options { Epochs = 3, CenterCount = 100, DataSubsampleSize = 100, DataLevel = 20, EvaluateEveryEpoch = every }),
            _ => new EigenPro4(new LaplaceKernel(2), new EigenPro4Options
            {
                Epochs = 3, CenterCount = 200, DataSubsampleSize = 100, DataLevel = 20, ModelSubsampleSize = 100, ModelLevel = 20, BatchSize = 50,
                Projection = ProjectionMode.Inexact, EvaluateEveryEpoch = every,
            }),
        };
        var every = Make(true).Fit(x, y, x, y);
        var last = Make(false).Fit(x, y, x, y);
        Assert.Equal([1, 2, 3], every.Epochs.Select(e => e.Epoch));
        Assert.Equal([3], last.Epochs.Select(e => e.Epoch));
        Assert.Equal(every.Model.Weights.Data, last.Model.Weights.Data);
        Assert.Equal(every.Epochs[^1].TestMse, last.Epochs[^1].TestMse);
    }
}
