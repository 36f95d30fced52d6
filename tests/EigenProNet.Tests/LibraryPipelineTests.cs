using EigenProNet.Data;
using EigenProNet.Dynamics;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Networks;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>
/// What the CLI does, as library calls: <see cref="KernelTrainer"/> (scale → choose → fit → model with its scaling),
/// <see cref="CheckpointDirectory"/> (checkpoint and resume), and <see cref="DynamicsComparison"/> (network, fixed NTK
/// and RFM on one pinned subsample).
/// </summary>
public class LibraryPipelineTests
{
    /// <summary>Three blobs of raw "pixel" values in [0, 255].</summary>
    private static Dataset Pixels(int n, int seed)
    {
        var x = new Matrix(n, 8);
        var random = new Random(seed);
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 3;
            for (int j = 0; j < 8; j++) x[i, j] = (float)Math.Clamp(100 + 40 * random.NextDouble() + (j % 3 == labels[i] ? 80 : 0), 0, 255);
        }
        return new Dataset(x, labels, 3, $"pixels-{seed}");
    }

    [Fact]
    public void TheTrainerScalesChoosesFitsAndAttachesTheScaling()
    {
        var train = Pixels(300, 1);
        var test = Pixels(90, 2);
        var raw = train.Features.Clone();
        var kernel = new LaplaceKernel(1);

        // Auto: the direct solver for a small n that fits, EigenPro 2 above the limit or the budget.
        Assert.Equal(SolverKind.Direct, KernelTrainer.Resolve(SolverKind.Auto, 300));
        Assert.Equal(SolverKind.EigenPro2, KernelTrainer.Resolve(SolverKind.Auto, KernelTrainer.AutoDirectLimit + 1));
        Assert.Equal(SolverKind.EigenPro2, KernelTrainer.Resolve(SolverKind.Auto, 300, new MemoryBudget(1000)));
        Assert.Equal(SolverKind.EigenPro4, KernelTrainer.Resolve(SolverKind.EigenPro4, 300));

        var trainer = new KernelTrainer(kernel, new KernelTrainerOptions { Solver = SolverKind.Auto, Scaling = Scaling.Pixels, Ridge = 1e-3 });
        Assert.IsType<DirectSolver>(trainer.CreateSolver(300));
        var result = trainer.Fit(train, test);
        Assert.Equal("direct", result.Settings.Solver);
        Assert.Equal(raw.Data, train.Features.Data);                      // copies were scaled, not the caller's rows
        Assert.Equal(Scaling.Pixels, result.Model.Preprocessor!.Scaling); // so Predict takes raw rows

        // The same as the pipeline written out by hand.
        var scaling = Preprocessor.Fit(Scaling.Pixels, train.Features);
        var byHand = new DirectSolver(kernel, 1e-3).Fit(train.WithFeatures(scaling.Transform(train.Features))).Model.WithPreprocessor(scaling);
        Assert.Equal(byHand.Predict(test.Features).Data, result.Model.Predict(test.Features).Data);
        Assert.Equal(result.Epochs[^1].TestAccuracy!.Value, result.Model.Score(test), 12);
        Assert.InRange(result.Model.Score(test), 0.9, 1);

        // In place: the datasets' own matrices are scaled (one copy of the data fewer).
        var inPlace = new KernelTrainer(kernel, new KernelTrainerOptions { Solver = SolverKind.EigenPro2, Scaling = Scaling.Pixels, ScaleInPlace = true,
            EigenPro2 = new EigenPro2Options { Epochs = 2, Seed = 4 } }).Fit(train, test);
        Assert.Equal("eigenpro2", inPlace.Settings.Solver);
        Assert.Equal(raw[5, 3] / 255f, train.Features[5, 3], 6);

        // The memory-mapped path trains EigenPro 3/4 only, on rows as stored.
        var rows = new MatrixRows(train.Features);
        var e = Assert.Throws<NotSupportedException>(() => new KernelTrainer(kernel).Fit(rows, train.TargetMatrix(), 3));
        Assert.Contains("EigenPro 3 or 4", e.Message);
        Assert.Throws<NotSupportedException>(() => trainer.Fit(rows, train.TargetMatrix(), 3));
        Assert.Throws<ArgumentException>(() => new KernelTrainer(kernel, new KernelTrainerOptions { Ridge = -1 }));
    }

    [Fact]
    public void ACheckpointDirectoryResumesToTheUninterruptedRun()
    {
        using var dir = new TempDir();
        var train = Pixels(240, 3);
        var scaling = Preprocessor.Fit(Scaling.Pixels, train.Features);
        train = train.WithFeatures(scaling.Transform(train.Features));
        var kernel = new LaplaceKernel(1);
        var identity = new Dictionary<string, string> { ["data"] = "pixels-3", ["seed"] = "5" };
        EigenPro3 Solver(int epochs, TrainingCheckpoint? from) =>
            new(kernel, new EigenPro3Options { Epochs = epochs, CenterCount = 100, DataSubsampleSize = 80, DataLevel = 20, BatchSize = 60, Seed = 5, ResumeFrom = from });

        string folder = Path.Combine(dir.Path, "run");
        var first = CheckpointDirectory.Create(folder, identity);
        Solver(2, null).Fit(train, observer: first);
        Assert.True(File.Exists(first.FilePath));
        Assert.Contains("already holds", Assert.Throws<ArgumentException>(() => CheckpointDirectory.Create(folder, identity)).Message);

        var resumed = CheckpointDirectory.Resume(folder, identity, epochs: 4);
        Assert.Equal(2, resumed.ResumeFrom!.Epoch);
        Assert.Equal(2, resumed.EarlierEpochs.Count);
        var continued = Solver(4, resumed.ResumeFrom).Fit(train, observer: resumed);
        var straight = Solver(4, null).Fit(train);
        Assert.Equal(straight.Model.Weights.Data, continued.Model.Weights.Data);
        Assert.Equal([3, 4], continued.Epochs.Select(r => r.Epoch));

        var other = Assert.Throws<InvalidDataException>(() => CheckpointDirectory.Resume(folder, new Dictionary<string, string>(identity) { ["seed"] = "6" }, 6));
        Assert.Contains("seed: checkpoint 5, this run 6", other.Message);
        Assert.Contains("already holds epoch 4", Assert.Throws<ArgumentException>(() => CheckpointDirectory.Resume(folder, identity, 4)).Message);
        Assert.Throws<ArgumentException>(() => CheckpointDirectory.Resume(Path.Combine(dir.Path, "empty"), identity, 4));

        // A model file that is not a checkpoint (saved by hand into the folder) is named as such.
        string plain = Path.Combine(dir.Path, "plain");
        Directory.CreateDirectory(plain);
        straight.Model.Save(Path.Combine(plain, CheckpointDirectory.FileName));
        Assert.Contains("not a checkpoint", Assert.Throws<InvalidDataException>(() => CheckpointDirectory.Resume(plain, new Dictionary<string, string>(), 4)).Message);
    }

    /// <summary>Options of no center-model solver (a user's own subclass).</summary>
    private sealed record OtherCenterOptions : CenterModelOptions;

    [Fact]
    public void StudyPlansAndComparisonsRefuseWhatTheyCannotRun()
    {
        var train = Pixels(60, 7);
        var data = new DynamicsStudyData("pixels", train, null, Scaling.None, PinnedSubsample.Draw(train, 20, 1), 1);
        var recorder = new DynamicsOptions { TrackedEigenvectors = 5 };
        var e = Assert.Throws<ArgumentException>(() => DynamicsStudyPlan.FixedKernel(data, new LaplaceKernel(1), new OtherCenterOptions(), recorder));
        Assert.Contains("EigenPro 3 or 4, not OtherCenterOptions", e.Message);
        var fixedKernel = DynamicsStudyPlan.FixedKernel(data, new LaplaceKernel(1), new EigenPro3Options { Epochs = 1 }, recorder);
        using var dir = new TempDir();
        Assert.Throws<ArgumentException>(() => fixedKernel.RunResample(dir.Path, []));

        var comparison = new DynamicsComparison(new DynamicsComparisonOptions { SubsampleSize = 100 });
        var regression = new Dataset(train.Features, Preprocessing.OneHot(train.Labels!, 3), "targets");
        Assert.Contains("class labels", Assert.Throws<ArgumentException>(() => comparison.Plan(dir.Path, "targets", regression, null)).Message);
        Assert.Contains("larger than the 60 training rows", Assert.Throws<ArgumentException>(() => comparison.Plan(dir.Path, "pixels", train, null)).Message);
        Assert.Throws<ArgumentNullException>(() => new KernelTrainer(null!));
    }

    [Fact]
    public void AComparisonWatchesTheNetworkTheFixedNtkAndRfmOnOneSubsample()
    {
        using var dir = new TempDir();
        var train = Pixels(150, 5);
        var test = Pixels(60, 6);
        var raw = train.Features.Clone();
        var comparison = new DynamicsComparison(new DynamicsComparisonOptions
        {
            Network = new NetworkTrainerOptions { Width = 32, Depth = 1, Epochs = 2, BatchSize = 50 },
            Centers = 1000,
            Rfm = new RecursiveFeatureMachineOptions { Iterations = 2, Bandwidth = 10, EigenPro = new EigenPro2Options { Epochs = 2 } },
            SubsampleSize = 40,
            Recorder = new DynamicsOptions { TrackedEigenvectors = 10, SubspaceDimensions = [5] },
            RecordSteps = [1, 2],
            Seed = 3,
        });
        var plan = comparison.Plan(dir.Path, "pixels", train, test);
        Assert.Equal(["network", "ntk", "rfm"], plan.Select(r => r.Name));
        Assert.All(plan, r => Assert.Equal(plan[0].Plan.Subsample.Indices, r.Plan.Subsample.Indices));
        var ntk = plan[1].Plan.Settings;
        Assert.Equal("NtkRelu(depth=2, bias=0)", ntk["kernel"]);        // the network's depth D + 1
        Assert.Equal("kernel-diagonal", ntk["beta"]);
        Assert.Equal(150, ntk["centers"]);                               // clamped to n …
        Assert.Contains("1000 centers clamped to the 150 training rows", plan[1].Plan.Notes);   // … and said
        Assert.Equal("unit-range", ntk["scaling"]);
        Assert.Equal("l2", plan[2].Plan.Settings["scaling"]);
        Assert.Equal("1,2", plan[0].Plan.Settings["record_steps"]);
        Assert.Equal(raw.Data, train.Features.Data);                     // each study scaled its own copy

        var results = comparison.Run(dir.Path, "pixels", train, test);
        Assert.Equal(plan.Select(r => r.Directory), results.Select(r => r.Directory));
        // Snapshots: the network at t = 0, steps 1, 2 and both epoch ends; EigenPro 3 at t = 0, 1, 2; RFM per iteration.
        Assert.True(results[0].Snapshots.Count >= 4);
        Assert.Equal(3, results[1].Snapshots.Count);
        Assert.Equal(2, results[2].Snapshots.Count);
        Assert.All(results, r => Assert.True(File.Exists(Path.Combine(r.Directory, "run.json"))));
        // The fixed kernel's eigenvectors cannot move; the network's do.
        Assert.All(results[1].Snapshots.Skip(1), snapshot => Assert.False(snapshot.KernelChanged));
        Assert.Contains(results[0].Snapshots.Skip(1), snapshot => snapshot.KernelChanged);
        Assert.Throws<NotSupportedException>(() => plan[0].Plan.RunResample(Path.Combine(dir.Path, "x"), [1]));

        // A fixed-kernel plan records what its solver uses: EigenPro 4's level (150, clamped to s − 1), not EigenPro 3's.
        var four = DynamicsStudyPlan.FixedKernel(new DynamicsStudyData("pixels", train, test, Scaling.None, plan[0].Plan.Subsample, 3),
            new LaplaceKernel(2), new EigenPro4Options { Epochs = 1, CenterCount = 100 }, new DynamicsOptions { TrackedEigenvectors = 10 });
        Assert.Equal("eigenpro4", four.Settings["solver"]);
        Assert.Equal(39, four.Settings["data_level"]);
        Assert.Equal(100, four.Settings["centers"]);
        Assert.Empty(four.Notes);
    }
}
