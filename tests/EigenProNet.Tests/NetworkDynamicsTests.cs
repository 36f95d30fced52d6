using System.Globalization;
using System.Text.Json;
using EigenProNet.Data;
using EigenProNet.Dynamics;
using EigenProNet.LinearAlgebra;
using EigenProNet.Networks;

namespace EigenProNet.Tests;

/// <summary>The network study (empirical NTK recorded per step), the kernel metrics, the study as a library object and the compare command.</summary>
public class NetworkDynamicsTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Sample => CliRunner.Sample;

    /// <summary>400 training rows in batches of 50: 8 steps per epoch.</summary>
    private static string[] Study(string dir, int epochs, params string[] extra)
    {
        var args = new List<string> { "dynamics", "network", "--data", Sample, "--out", dir, "--epochs", epochs.ToString(CultureInfo.InvariantCulture) };
        var defaults = new[] { ("--train-rows", "400"), ("--test-rows", "100"), ("--subsample-size", "150"), ("--k", "20"), ("--width", "64"), ("--batch-size", "50") };
        // An option in extra replaces its default (the parser refuses an option given twice).
        foreach (var (name, value) in defaults)
            if (!extra.Contains(name)) { args.Add(name); args.Add(value); }
        return [.. args, .. extra];
    }

    [Fact]
    public void TheNetworkStudyRecordsAMovingKernelAtGeometricStepsAndEveryEpoch()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "net");
        var (code, stdout, stderr) = Run([.. Study(run, 3), "--json"]);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var snapshots = doc.RootElement.GetProperty("snapshots").EnumerateArray().ToArray();
        // Steps 1, 2, 4 inside epoch 1 and 8 … (epoch ends) — the geometric schedule spans two epochs: 1, 2, 4, 8 (epoch end), no 16 (epoch end).
        Assert.Equal([0, 1, 2, 4, 8, 16, 24], snapshots.Select(s => s.GetProperty("t").GetInt32()));
        Assert.Equal([0, 0.125, 0.25, 0.5, 1, 2, 3], snapshots.Select(s => s.GetProperty("epoch").GetDouble()));
        Assert.All(snapshots.Skip(1), s => Assert.True(s.GetProperty("kernel_changed").GetBoolean()));
        Assert.All(snapshots.Skip(1), s => Assert.True(s.GetProperty("kernel_distance_from_start").GetDouble() > 0));
        Assert.Equal(0, snapshots[0].GetProperty("kernel_distance_from_start").GetDouble());
        Assert.Equal(0, snapshots[0].GetProperty("kernel_relative_change_from_start").GetDouble());
        // The relative change includes the scale, so it is at least the shape's part: with 1 − cos θ = distance,
        // min over the scale of ‖K_t − K_0‖/‖K_0‖ is sin θ = √(2·distance − distance²).
        Assert.All(snapshots.Skip(1), s =>
        {
            double d = s.GetProperty("kernel_distance_from_start").GetDouble(), r = s.GetProperty("kernel_relative_change_from_start").GetDouble();
            Assert.True(r >= Math.Sqrt(2 * d - d * d) * (1 - 1e-6) && r > 0, $"t = {s.GetProperty("t")}: relative change {r} against distance {d}");
        });
        var summary = doc.RootElement.GetProperty("summary");
        Assert.False(summary.GetProperty("kernel_fixed").GetBoolean());
        Assert.Contains("kernel matrix moved", summary.GetProperty("finding").GetString());
        Assert.Equal("network", doc.RootElement.GetProperty("settings").GetProperty("study").GetString());
        // Only the latest epoch keeps the network's state; the kernel matrices for resuming are kept once.
        Assert.True(File.Exists(Path.Combine(run, "snapshots", "t024", "state.npz")));
        Assert.False(File.Exists(Path.Combine(run, "snapshots", "t016", "state.npz")));
        Assert.True(File.Exists(Path.Combine(run, DynamicsRunWriter.StartKernelFile)));
        var network = NetworkCheckpoint.FromArrays(Npy.ReadArchive(Path.Combine(run, "snapshots", "t024", "state.npz")), "state").Network;
        Assert.Equal((64, 2, 10), (network.Width, network.Depth, network.Outputs));
        string csv = File.ReadAllText(Path.Combine(run, "metrics.csv"));
        foreach (var metric in new[] { "kernel_distance_from_start", "kernel_velocity", "kernel_target_alignment", "target_captured" })
            Assert.Contains($",{metric},", csv);
        string html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Equal(8, System.Text.RegularExpressions.Regex.Matches(html, "<img alt=\"[a-z_]+\" src=\"data:image/png;base64,").Count);
        Assert.Contains("kernel_distance", html);
    }

    /// <summary>run.json without what depends on the clock.</summary>
    private static string Metrics(string dir)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json")))!;
        node.AsObject().Remove("timings");
        node["settings"]!.AsObject().Remove("data");
        node["settings"]!.AsObject().Remove("epochs");
        foreach (var s in node["snapshots"]!.AsArray()) s!.AsObject().Remove("record_seconds");
        return node.ToJsonString();
    }

    [Fact]
    public void KillAndResumeOfANetworkRunGivesTheUninterruptedRunsMetrics()
    {
        using var dir = new TempDir();
        string whole = Path.Combine(dir.Path, "whole"), resumed = Path.Combine(dir.Path, "resumed");
        Assert.Equal(0, Run(Study(whole, 3, "--momentum", "0.5")).Code);
        // "Killed" after epoch 1 (its directory holds t = 0 … 8), continued to 3 epochs.
        Assert.Equal(0, Run(Study(resumed, 1, "--momentum", "0.5")).Code);
        var (code, _, stderr) = Run(Study(resumed, 3, "--momentum", "0.5", "--resume"));
        Assert.True(code == 0, stderr);
        Assert.Equal(Metrics(whole), Metrics(resumed));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "snapshots", "t024", "eigenvectors.npy")),
            File.ReadAllBytes(Path.Combine(resumed, "snapshots", "t024", "eigenvectors.npy")));
        // Nothing left to do is a usage error; other settings are refused.
        Assert.Equal(2, Run(Study(resumed, 3, "--momentum", "0.5", "--resume")).Code);
        (code, _, stderr) = Run(Study(resumed, 4, "--momentum", "0.5", "--resume", "--width", "32"));
        Assert.Equal(1, code);
        Assert.Contains("width: 64 in the run, 32 now", stderr);
    }

    [Fact]
    public void BadNetworkInputIsAClearErrorAndWritesNothingHalfDone()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "bad");
        var (code, _, stderr) = Run(Study(run, 2, "--width", "0"));
        Assert.Equal(2, code);
        Assert.Contains("--width", stderr);
        (code, _, stderr) = Run(Study(run, 2, "--depth", "0"));
        Assert.Equal(2, code);
        Assert.Contains("--depth", stderr);
        (code, _, stderr) = Run(Study(run, 2, "--record-steps", "1,2,500"));
        Assert.Equal(2, code);
        Assert.Contains("step 500 is beyond the run's 16 steps", stderr);
        (code, _, stderr) = Run(Study(run, 2, "--subsample-size", "401"));
        Assert.Equal(1, code);
        Assert.Contains("larger than the 400 training rows", stderr);
        Assert.False(Directory.Exists(run));
        // A diverging step: reported with its epoch, and no NaN anywhere in what was written.
        (code, _, stderr) = Run(Study(run, 5, "--lr", "1000"));
        Assert.Equal(1, code);
        Assert.Contains("diverged in epoch 1", stderr);
        Assert.Contains("--lr", stderr);
        string json = File.ReadAllText(Path.Combine(run, "run.json"));
        Assert.DoesNotContain("NaN", json);
        Assert.DoesNotContain("Infinity", json);
    }

    [Fact]
    public void ForTheFixedNtkTheKernelMetricsAreExactlyZeroAndConstant()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "ntk");
        var (code, stdout, stderr) = Run("dynamics", "ntk", "--data", Sample, "--out", run, "--epochs", "3", "--centers", "300", "--train-rows", "500",
            "--subsample-size", "200", "--k", "30", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var snapshots = doc.RootElement.GetProperty("snapshots").EnumerateArray().ToArray();
        Assert.All(snapshots, s => Assert.Equal(0, s.GetProperty("kernel_distance_from_start").GetDouble()));
        Assert.All(snapshots, s => Assert.Equal(0, s.GetProperty("kernel_distance_consecutive").GetDouble()));
        Assert.All(snapshots, s => Assert.Equal(0, s.GetProperty("kernel_relative_change_from_start").GetDouble()));
        double alignment = snapshots[0].GetProperty("kernel_target_alignment").GetDouble();
        Assert.InRange(alignment, 0.01, 1);
        Assert.All(snapshots, s => Assert.Equal(alignment, s.GetProperty("kernel_target_alignment").GetDouble()));
        Assert.All(snapshots, s => Assert.Equal(snapshots[0].GetProperty("target_captured").GetRawText(), s.GetProperty("target_captured").GetRawText()));
        // A fixed kernel keeps no kernel matrices for resuming (its eigensystem is recomputed from the kernel).
        Assert.False(File.Exists(Path.Combine(run, DynamicsRunWriter.StartKernelFile)));
    }

    [Fact]
    public void SignFlipsAndRotationsChangeNoMetric()
    {
        // An orthonormal basis of R^40 from the eigenvectors of a real-image Laplace kernel matrix.
        var rows = Reference.CifarRows(40);
        var gram = new Kernels.LaplaceKernel(20).Evaluate(rows, rows);
        var e = SymmetricEigen.Full(gram).Vectors.View.Block(0, 0, 40, 12).ToMatrix();
        var targets = Matrix.RandomNormal(40, 3, 2);
        // Flip the signs of some columns and rotate columns 0 and 1 (and 4, 5) into each other by 30°.
        var f = e.Clone();
        for (int i = 0; i < 40; i++)
        {
            f[i, 3] = -f[i, 3];
            f[i, 7] = -f[i, 7];
            foreach (var (a, b) in new[] { (0, 1), (4, 5) })
            {
                double c = Math.Cos(Math.PI / 6), s = Math.Sin(Math.PI / 6);
                float x = e[i, a], y = e[i, b];
                f[i, a] = (float)(c * x - s * y);
                f[i, b] = (float)(s * x + c * y);
            }
        }
        var before = EigenvectorChange.TargetCaptured(e, targets);
        var after = EigenvectorChange.TargetCaptured(f, targets);
        foreach (int k in new[] { 2, 4, 6, 8, 12 }) Assert.Equal(before[k - 1], after[k - 1], 6);
        foreach (int k in new[] { 2, 6, 12 }) Assert.True(EigenvectorChange.ProjectionDistance(e, f, k) < 1e-5, $"k = {k}");
        // The kernel distance and alignment see the matrix, not its eigenvectors; a rescaled kernel is at distance 0.
        var scaled = gram.Clone();
        System.Numerics.Tensors.TensorPrimitives.Multiply(scaled.Data, 3f, scaled.Data);
        Assert.True(DynamicsRecorder.KernelDistance(gram, scaled) < 1e-12);
        Assert.Equal(0, DynamicsRecorder.KernelDistance(gram, gram));
        // The relative change sees the scale: ‖3K − K‖/‖K‖ = 2, and nothing for the same matrix.
        Assert.Equal(2, DynamicsRecorder.RelativeChange(scaled, gram), 6);
        Assert.Equal(0, DynamicsRecorder.RelativeChange(gram, gram));
    }

    [Fact]
    public void AStudyIsALibraryObject()
    {
        var split = DatasetLoader.Load(Sample);
        var train = Preprocessing.Sample(split.Train, 300, 1);
        var scaling = Preprocessor.Fit(Scaling.UnitRange, train.Features);
        scaling.TransformInPlace(train.Features);
        var subsample = PinnedSubsample.Draw(train, 100, seed: 1);
        var settings = new Dictionary<string, object?> { ["study"] = "network", ["width"] = 32 };
        var options = new DynamicsOptions { TrackedEigenvectors = 10, RecordSteps = [1, 3] };
        using var dir = new TempDir();
        var result = new DynamicsStudy(settings, options).Run(Path.Combine(dir.Path, "run"), subsample,
            DynamicsTrainer.ForNetwork(new NetworkTrainerOptions { Width = 32, Depth = 1, Epochs = 2, BatchSize = 100 }, train, null));
        Assert.Equal([0, 1, 3, 6], result.Snapshots.Select(s => s.T));
        Assert.False(result.Metrics.KernelFixed);
        Assert.True(result.Metrics.KernelVelocity[1] > 0);
        Assert.Equal(result.Metrics.KernelDistanceConsecutive[1] / (1.0 / 3), result.Metrics.KernelVelocity[1], 12);
        Assert.Equal(DynamicsRun.Read(result.Directory).Metrics.KernelDistanceFromStart, result.Metrics.KernelDistanceFromStart);
        // Memory: only the latest snapshot keeps the network's parameters and the kernel matrix (earlier ones are on disk).
        Assert.All(result.Snapshots.SkipLast(1), s => Assert.True(s.State is null && s.Gram is null, $"t = {s.T} keeps its state"));
        Assert.NotNull(result.Snapshots[^1].State);
        Assert.NotNull(result.Snapshots[^1].Gram);
    }

    [Fact]
    public void CompareRunsTheNetworkAndTheFixedNtkOnCommonAxes()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "cmp");
        var (code, stdout, stderr) = Run("dynamics", "compare", "--data", Sample, "--out", root, "--epochs", "2", "--train-rows", "400", "--test-rows", "100",
            "--subsample-size", "150", "--k", "20", "--width", "64", "--batch-size", "100", "--centers", "300", "--rfm", "--rfm-iterations", "2", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("NtkRelu(depth=3, bias=0)", doc.RootElement.GetProperty("ntk").GetProperty("settings").GetProperty("kernel").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("ntk").GetProperty("summary").GetProperty("final_kernel_distance_from_start").GetDouble());
        Assert.True(doc.RootElement.GetProperty("network").GetProperty("summary").GetProperty("final_kernel_distance_from_start").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("rfm").GetProperty("summary").GetProperty("final_kernel_distance_from_start").GetDouble() > 0);
        // The same pinned rows in every run.
        var indices = new[] { "network", "ntk", "rfm" }.Select(r => (long[])Npy.Read(Path.Combine(root, r, "subsample_indices.npy")).Data).ToArray();
        Assert.Equal(indices[0], indices[1]);
        Assert.Equal(indices[0], indices[2]);
        string html = File.ReadAllText(Path.Combine(root, "report.html"));
        foreach (var stem in new[] { "compare_kernel_distance", "compare_kernel_relative_change", "compare_label_alignment", "compare_subspace_distance", "compare_accuracy" })
            Assert.Contains($"alt=\"{stem}\"", html);
    }
}
