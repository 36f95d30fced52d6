using System.Text.Json;
using EigenProNet.Data;
using EigenProNet.Dynamics;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>The dynamics recorder on EigenPro 3 and RFM, the run directory, and the CLI studies on the bundled sample.</summary>
public class DynamicsTests
{
    private static (Dataset Train, int[] Pinned, Matrix Rows, Matrix Targets) Blobs(int n = 400, int s = 120)
    {
        var x = Matrix.RandomNormal(n, 6, 3);
        var labels = new int[n];
        for (int i = 0; i < n; i++) { labels[i] = i % 3; x[i, labels[i]] += 2.5f; }
        var train = new Dataset(x, labels, 3, "blobs");
        // A random sample (EigenPro's step rule assumes one: a sample of one class makes its spectrum, and the step, wrong).
        var pinned = Preprocessing.Permutation(n, new Random(9))[..s];
        Array.Sort(pinned);
        var rows = new Matrix(s, 6);
        var y = train.TargetMatrix();
        var targets = new Matrix(s, 3);
        for (int i = 0; i < s; i++) { x.Row(pinned[i]).CopyTo(rows.Row(i)); y.Row(pinned[i]).CopyTo(targets.Row(i)); }
        return (train, pinned, rows, targets);
    }

    /// <summary>Forwards to the recorder and keeps the model of the last epoch.</summary>
    private sealed class LastModel(DynamicsRecorder recorder) : ITrainingObserver
    {
        public KernelModel? Model { get; private set; }
        public void OnPreconditioner(NystromPreconditioner preconditioner) => ((ITrainingObserver)recorder).OnPreconditioner(preconditioner);
        public void OnStart(KernelModel model) => ((ITrainingObserver)recorder).OnStart(model);
        public void OnEpoch(EpochReport report, KernelModel model) { ((ITrainingObserver)recorder).OnEpoch(report, model); Model = model; }
    }

    [Fact]
    public void TheRecorderComputesTheEigensystemWhenThePreconditionerHasFewerDirections()
    {
        var (train, pinned, rows, targets) = Blobs();
        var options = new EigenPro3Options { Epochs = 1, CenterCount = 200, DataSubsampleSize = pinned.Length, DataSubsampleIndices = pinned, DataLevel = 40 };
        var computed = new DynamicsRecorder(rows, targets, new DynamicsOptions { TrackedEigenvectors = 60 });
        new EigenPro3(new LaplaceKernel(3), options).Fit(train, null, null, computed);
        Assert.Equal(1, computed.EigensystemsComputed);
        // Taken or computed, the top 40 pairs agree to float32 noise.
        var taken = new DynamicsRecorder(rows, targets, new DynamicsOptions { TrackedEigenvectors = 40 });
        new EigenPro3(new LaplaceKernel(3), options).Fit(train, null, null, taken);
        Assert.Equal(0, taken.EigensystemsComputed);
        for (int i = 0; i < 40; i++)
            Assert.True(Math.Abs(taken.Snapshots[0].Eigenvalues[i] - computed.Snapshots[0].Eigenvalues[i]) <= 1e-5 * computed.Snapshots[0].Eigenvalues[0], $"λ_{i + 1}");
        Assert.True(EigenvectorChange.ProjectionDistance(taken.Snapshots[0].Eigenvectors, computed.Snapshots[0].Eigenvectors, 10) < 1e-4);
    }

    [Fact]
    public void AFixedKernelsEigensystemRecomputedAtTheLastEpochWithoutTheCacheMatchesTheStart()
    {
        // The identity test above passes because the recorder reuses one eigensystem object while the kernel object stays
        // the same. Here the last epoch's model's kernel is evaluated afresh on the pinned rows — another thread count, so
        // other GEMM tiles — and its eigensystem computed anew: what is left is float32 noise, measured.
        var (train, pinned, rows, targets) = Blobs();
        var recorder = new DynamicsRecorder(rows, targets, new DynamicsOptions { TrackedEigenvectors = 40 });
        var last = new LastModel(recorder);
        new EigenPro3(new LaplaceKernel(3), new EigenPro3Options
        {
            Epochs = 4, CenterCount = 200, DataSubsampleSize = pinned.Length, DataSubsampleIndices = pinned, DataLevel = 40,
        }).Fit(train, null, null, last);
        var single = new ComputeContext(threads: 1);
        var kernel = last.Model!.Kernel;
        var gram = new Matrix(rows.Rows, rows.Rows);
        kernel.EvaluateSymmetric(kernel.Prepare(rows, "rows", single), gram, single);
        System.Numerics.Tensors.TensorPrimitives.Multiply(gram.Data, 1f / rows.Rows, gram.Data);
        var fresh = SymmetricEigen.Top(gram, 40, context: single);
        var start = recorder.Snapshots[0];
        Assert.Same(start.Eigenvectors, recorder.Snapshots[^1].Eigenvectors);
        for (int i = 0; i < 10; i++)
            Assert.True(Math.Abs(fresh.Values[i] - start.Eigenvalues[i]) <= 1e-5 * start.Eigenvalues[0], $"λ_{i + 1}: {fresh.Values[i]} against {start.Eigenvalues[i]}");
        // Measured: a top-10 projection distance of about 1e-6 (float32 rounding of K and of the eigenvectors); 1e-4 bounds it.
        double distance = EigenvectorChange.ProjectionDistance(start.Eigenvectors, fresh.Vectors, 10);
        Assert.True(distance < 1e-4, $"top-10 distance {distance}");
    }

    [Fact]
    public void AFixedKernelsDataEigensystemIsIdenticalAcrossEpochsWhileTheResidualMoves()
    {
        var (train, pinned, rows, targets) = Blobs();
        var recorder = new DynamicsRecorder(rows, targets, new DynamicsOptions { TrackedEigenvectors = 40 });
        new EigenPro3(new LaplaceKernel(3), new EigenPro3Options
        {
            Epochs = 4, CenterCount = 200, DataSubsampleSize = pinned.Length, DataSubsampleIndices = pinned, DataLevel = 40,
        }).Fit(train, null, null, recorder);
        Assert.Equal([0, 1, 2, 3, 4], recorder.Snapshots.Select(s => s.T));
        // The data preconditioner is on the same pinned rows with k = 40 directions: its eigensystem is taken, none computed.
        Assert.Equal(0, recorder.EigensystemsComputed);
        Assert.All(recorder.Snapshots, s => Assert.Same(recorder.Snapshots[0].Eigenvectors, s.Eigenvectors));
        Assert.All(recorder.Snapshots, s => Assert.False(s.KernelChanged));
        var metrics = DynamicsMetrics.Compute(recorder.Snapshots, new DynamicsOptions { TrackedEigenvectors = 40 });
        Assert.True(metrics.KernelFixed);
        Assert.All(metrics.Subspaces, sub => Assert.All(sub.FromStart, d => Assert.Equal(0, d)));
        // Training learns along the top directions: the residual there shrinks.
        Assert.Equal(0, recorder.Snapshots[0].LearnedFraction[0], 6);
        Assert.True(recorder.Snapshots[^1].LearnedFraction[0] > 0.5, $"ρ₁ = {recorder.Snapshots[^1].LearnedFraction[0]}");
        // The eigensystem is K(X_s, X_s)/s's: check the top pair against the definition.
        var k = new LaplaceKernel(3).Evaluate(rows, rows);
        var v = recorder.Snapshots[0].Eigenvectors;
        double lambda = recorder.Snapshots[0].Eigenvalues[0];
        for (int i = 0; i < rows.Rows; i++)
        {
            double kv = 0;
            for (int j = 0; j < rows.Rows; j++) kv += k[i, j] * v[j, 0] / rows.Rows;
            Assert.True(Math.Abs(kv - lambda * v[i, 0]) < 1e-4, $"row {i}");
        }
    }

    [Fact]
    public void RfmSnapshotsSeeTheKernelAndMChange()
    {
        var (train, pinned, rows, targets) = Blobs();
        var recorder = new DynamicsRecorder(rows, targets, new DynamicsOptions { TrackedEigenvectors = 30, FeatureEigenvectors = 4 });
        new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions
        {
            Iterations = 3, Bandwidth = 3, Solver = RfmSolver.EigenPro2,
            EigenPro = new EigenPro2Options { Epochs = 3, SubsampleIndices = pinned, EvaluateEveryEpoch = false },
        }).Fit(train, train, null, recorder);
        Assert.Equal([0, 1, 2], recorder.Snapshots.Select(s => s.T));
        Assert.False(recorder.Snapshots[0].KernelChanged);
        Assert.True(recorder.Snapshots[1].KernelChanged);
        Assert.All(recorder.Snapshots, s => Assert.Equal(4, s.FeatureEigenvalues!.Length));
        Assert.Equal(1.0, recorder.Snapshots[0].FeatureEigenvalues![0], 5);                 // M₀ = I
        var metrics = DynamicsMetrics.Compute(recorder.Snapshots, new DynamicsOptions { TrackedEigenvectors = 30 });
        Assert.False(metrics.KernelFixed);
        Assert.True(metrics.Subspaces[^1].FromStart[^1] > 0.01);
        Assert.All(recorder.Snapshots, s => Assert.NotNull(s.ValidationAccuracy));
    }

    [Fact]
    public void BadRecorderInputIsNamed()
    {
        var (_, _, rows, targets) = Blobs(s: 20);
        Assert.Contains("k = 20", Assert.Throws<ArgumentException>(() => new DynamicsRecorder(rows, targets, new DynamicsOptions { TrackedEigenvectors = 20 })).Message);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => new DynamicsRecorder(rows, new Matrix(19, 3))).ParamName);
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Sample => CliRunner.Sample;

    [Fact]
    public void NtkAndRfmStudiesWriteARunDirectory()
    {
        using var dir = new TempDir();
        string ntk = Path.Combine(dir.Path, "ntk");
        var (code, stdout, stderr) = Run("dynamics", "ntk", "--data", Sample, "--out", ntk, "--epochs", "2", "--centers", "400", "--train-rows", "600",
            "--subsample-size", "300", "--k", "40", "--json");
        Assert.True(code == 0, stderr);
        using (var run = JsonDocument.Parse(stdout))
        {
            Assert.True(run.RootElement.GetProperty("summary").GetProperty("kernel_fixed").GetBoolean());
            Assert.Equal(3, run.RootElement.GetProperty("snapshots").GetArrayLength());
            Assert.Contains("cannot move", run.RootElement.GetProperty("summary").GetProperty("finding").GetString());
        }
        foreach (var t in new[] { "t000", "t001", "t002" })
            foreach (var f in new[] { "eigenvalues.npy", "eigenvectors.npy", "residual.npy", "learned_fraction.npy" })
                Assert.True(File.Exists(Path.Combine(ntk, "snapshots", t, f)), $"{t}/{f}");
        Assert.Equal((300, 40), (Npy.Read(Path.Combine(ntk, "snapshots", "t001", "eigenvectors.npy")).Shape[0], Npy.Read(Path.Combine(ntk, "snapshots", "t001", "eigenvectors.npy")).Shape[1]));
        Assert.StartsWith("t,metric,index,value", File.ReadLines(Path.Combine(ntk, "metrics.csv")).First());
        // An existing run is not overwritten without --force.
        (code, _, stderr) = Run("dynamics", "ntk", "--data", Sample, "--out", ntk, "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Contains("--force", stderr);

        string rfm = Path.Combine(dir.Path, "rfm");
        (code, stdout, stderr) = Run("dynamics", "rfm", "--data", Sample, "--out", rfm, "--iterations", "2", "--train-rows", "400", "--test-rows", "100",
            "--subsample-size", "200", "--k", "20", "--epochs", "2", "--diag");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(rfm, "snapshots", "t001", "m_eigenvalues.npy")));
        // RFM's time is its iteration, in the finding too.
        string rfmFinding = JsonDocument.Parse(File.ReadAllText(Path.Combine(rfm, "run.json"))).RootElement.GetProperty("summary").GetProperty("finding").GetString()!;
        Assert.Contains("by iteration 1", rfmFinding);
        Assert.DoesNotContain("epoch", rfmFinding);
        Assert.Equal(rfmFinding, DynamicsRun.Read(rfm).Finding);
        // k beyond the subsample: an error of the run (exit 1), nothing written.
        (code, _, stderr) = Run("dynamics", "rfm", "--data", Sample, "--out", Path.Combine(dir.Path, "x"), "--subsample-size", "200", "--k", "200");
        Assert.Equal(1, code);
        Assert.Contains("at most s − 1 = 199", stderr);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "x")));
    }

    [RealDataFact(RealDataKind.NumPy)]
    public void SnapshotsLoadInARealNumPy()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var (code, _, stderr) = Run("dynamics", "rfm", "--data", Sample, "--out", run, "--iterations", "2", "--train-rows", "300", "--test-rows", "100",
            "--subsample-size", "150", "--k", "12", "--epochs", "2", "--diag");
        Assert.True(code == 0, stderr);
        string script = """
            import json, sys, numpy as np
            run = sys.argv[1]
            meta = json.load(open(run + "/run.json"))
            idx = np.load(run + "/subsample_indices.npy")
            out = {"indices": int(idx.shape[0]), "snapshots": []}
            for s in meta["snapshots"]:
                d = run + "/snapshots/t%03d/" % s["t"]
                v = np.load(d + "eigenvectors.npy"); lam = np.load(d + "eigenvalues.npy")
                out["snapshots"].append({"shape": list(v.shape), "dtype": str(v.dtype), "top": float(lam[0]),
                    "unit": float(np.abs(np.linalg.norm(v, axis=0) - 1).max()), "descending": bool(np.all(np.diff(lam) <= 0)),
                    "m": list(np.load(d + "m_eigenvalues.npy").shape)})
            print(json.dumps(out))
            """;
        string scriptPath = dir.WriteText("check.py", script);
        var psi = new System.Diagnostics.ProcessStartInfo(RealData.Python, [scriptPath, run]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(psi)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, error);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(150, doc.RootElement.GetProperty("indices").GetInt32());
        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json")));
        var snaps = doc.RootElement.GetProperty("snapshots");
        Assert.Equal(2, snaps.GetArrayLength());
        for (int i = 0; i < 2; i++)
        {
            var s = snaps[i];
            Assert.Equal("float32", s.GetProperty("dtype").GetString());
            Assert.Equal(150, s.GetProperty("shape")[0].GetInt32());
            Assert.Equal(12, s.GetProperty("shape")[1].GetInt32());
            Assert.True(s.GetProperty("unit").GetDouble() < 1e-5);
            Assert.True(s.GetProperty("descending").GetBoolean());
            Assert.Equal(meta.RootElement.GetProperty("snapshots")[i].GetProperty("top_eigenvalue").GetDouble(), s.GetProperty("top").GetDouble(), 12);
        }
    }
}

public class DynamicsReportTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Sample => CliRunner.Sample;

    /// <summary>Two small runs (NTK and RFM on the bundled sample) and their joint report.</summary>
    private static string TwoRunsAndAReport(TempDir dir)
    {
        string ntk = Path.Combine(dir.Path, "ntk"), rfm = Path.Combine(dir.Path, "rfm"), report = Path.Combine(dir.Path, "report.html");
        Assert.Equal(0, Run("dynamics", "ntk", "--data", Sample, "--out", ntk, "--epochs", "2", "--centers", "300", "--train-rows", "500",
            "--subsample-size", "200", "--k", "30").Code);
        Assert.Equal(0, Run("dynamics", "rfm", "--data", Sample, "--out", rfm, "--iterations", "2", "--train-rows", "300", "--test-rows", "100",
            "--subsample-size", "150", "--k", "20", "--epochs", "2", "--diag").Code);
        Assert.True(File.Exists(Path.Combine(ntk, "report.html")));   // each study writes its own report
        var (code, stdout, stderr) = Run("dynamics", "report", ntk, rfm, "--out", report);
        Assert.True(code == 0, stderr);
        Assert.Contains("cannot move", stdout);
        return report;
    }

    [Fact]
    public void ReportEmbedsEveryPlotAndWritesPngAndSvg()
    {
        using var dir = new TempDir();
        string report = TwoRunsAndAReport(dir);
        string html = File.ReadAllText(report);
        // 8 plots per run and 5 on common axes.
        Assert.Equal(21, System.Text.RegularExpressions.Regex.Matches(html, "<img alt=\"[a-z_]+\" src=\"data:image/png;base64,").Count);
        Assert.Contains("Runs side by side", html);
        foreach (var run in new[] { "ntk", "rfm" })
            foreach (var stem in new[] { "eigenvector_entries", "change_from_original", "subspace_distance", "spectrum", "learned_fraction", "kernel_distance", "label_alignment", "scores" })
            {
                var png = File.ReadAllBytes(Path.Combine(dir.Path, run, "plots", stem + ".png"));
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
                Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir.Path, run, "plots", stem + ".svg")));
            }
        // Time axes tick at whole epochs and iterations (the RFM run's 2 iterations were once labelled 0.25, 0.5, …);
        // the spectrum's log index is not a time axis.
        foreach (var run in new[] { "ntk", "rfm" })
            foreach (var stem in new[] { "eigenvector_entries", "subspace_distance", "learned_fraction", "kernel_distance", "scores" })
            {
                var ticks = BottomTickLabels(File.ReadAllText(Path.Combine(dir.Path, run, "plots", stem + ".svg")));
                Assert.True(ticks.Count >= 2, $"{run}/{stem}: ticks {string.Join(", ", ticks)}");
                Assert.All(ticks, t => Assert.Matches(@"^-?\d+$", t));
            }
        // The data path as given relative to where the command ran, not the machine's absolute path.
        string root = Reference.RepoRoot();
        Assert.DoesNotContain(root, html);
        using (var runJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "rfm", "run.json"))))
        {
            string data = runJson.RootElement.GetProperty("settings").GetProperty("data").GetString()!;
            Assert.False(Path.IsPathRooted(data), data);
            Assert.Equal(Path.GetFullPath(Sample), Path.GetFullPath(data));
        }
        // A directory that is not a run: a clear error, nothing written.
        var (code, _, stderr) = Run("dynamics", "report", Path.Combine(dir.Path, "ntk", "snapshots"), "--out", Path.Combine(dir.Path, "bad.html"));
        Assert.Equal(1, code);
        Assert.Contains("not a dynamics run", stderr);
        Assert.False(File.Exists(Path.Combine(dir.Path, "bad.html")));
    }

    /// <summary>The labels of an SVG plot's bottom axis: the numeric texts on the lowest common baseline.</summary>
    private static List<string> BottomTickLabels(string svg)
    {
        var numeric = System.Text.RegularExpressions.Regex.Matches(svg, @"<text transform=""translate\(([-\d.]+) ([-\d.]+)\)""[^>]*>\s*([^<]*?)\s*</text>")
            .Select(m => (Y: double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Text: m.Groups[3].Value))
            .Where(t => double.TryParse(t.Text.Replace('−', '-'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
            .ToList();
        double bottom = numeric.Max(t => t.Y);
        return numeric.Where(t => t.Y == bottom).Select(t => t.Text.Replace('−', '-')).ToList();
    }

    [RealDataFact(RealDataKind.Chromium)]
    public void ReportRendersInARealBrowser()
    {
        using var dir = new TempDir();
        string report = TwoRunsAndAReport(dir);
        string Browse(params string[] args)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(RealData.Chromium,
                ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", .. args, new Uri(report).AbsoluteUri])
                { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = System.Diagnostics.Process.Start(psi)!;
            var stderrTask = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(120_000), "chromium did not finish");
            string log = stderrTask.Result;
            // The page's own messages: no script error, no failed resource.
            Assert.DoesNotContain("Uncaught", log);
            Assert.DoesNotMatch(@"CONSOLE\(\d+\)\].*(rror|Failed)", log);
            return output;
        }
        string dom = Browse("--virtual-time-budget=10000", "--dump-dom");
        Assert.Contains("21 images, 0 broken", dom);                 // every image decoded (the page checks naturalWidth)
        string screenshot = Path.Combine(dir.Path, "report.png");
        Browse("--window-size=1000,1600", $"--screenshot={screenshot}");
        var png = File.ReadAllBytes(screenshot);
        Assert.True(png.Length > 10_000, $"screenshot of {png.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }
}

public class DynamicsResumeTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Sample => CliRunner.Sample;

    private static string[] Study(string dir, int epochs, params string[] extra) =>
        ["dynamics", "ntk", "--data", Sample, "--out", dir, "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--centers", "300",
         "--train-rows", "500", "--subsample-size", "200", "--k", "30", .. extra];

    /// <summary>run.json without what depends on the clock.</summary>
    private static string Metrics(string dir)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json")))!;
        node.AsObject().Remove("timings");
        node["settings"]!.AsObject().Remove("data");
        foreach (var s in node["snapshots"]!.AsArray()) s!.AsObject().Remove("record_seconds");
        return node.ToJsonString();
    }

    [Fact]
    public void KillAndResumeGivesTheUninterruptedRunsMetrics()
    {
        using var dir = new TempDir();
        string whole = Path.Combine(dir.Path, "whole"), resumed = Path.Combine(dir.Path, "resumed");
        Assert.Equal(0, Run(Study(whole, 3)).Code);
        // "Killed" after the snapshot of epoch 1: the run directory holds t = 0 and t = 1.
        Assert.Equal(0, Run(Study(resumed, 1)).Code);
        var (code, _, stderr) = Run(Study(resumed, 3, "--resume"));
        Assert.True(code == 0, stderr);
        Assert.Contains("resuming", stderr);
        Assert.Equal(Metrics(whole), Metrics(resumed));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "snapshots", "t003", "weights.npy")), File.ReadAllBytes(Path.Combine(resumed, "snapshots", "t003", "weights.npy")));

        // Another run's settings are refused, naming the difference; a corrupt snapshot names its file.
        (code, _, stderr) = Run(Study(resumed, 4, "--resume", "--seed", "2"));
        Assert.Equal(1, code);
        Assert.Contains("seed: 1 in the run, 2 now", stderr);
        File.WriteAllBytes(Path.Combine(resumed, "snapshots", "t003", "eigenvalues.npy"), [0x93, (byte)'N', (byte)'U']);
        (code, _, stderr) = Run(Study(resumed, 4, "--resume"));
        Assert.Equal(1, code);
        Assert.Contains("eigenvalues.npy", stderr);
    }

    [Fact]
    public void RfmKillAndResumeRedoesTheLastIterationFromItsM()
    {
        using var dir = new TempDir();
        string[] Rfm(string d, int iterations, params string[] extra) =>
            ["dynamics", "rfm", "--data", Sample, "--out", d, "--iterations", iterations.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--train-rows", "300", "--test-rows", "100", "--subsample-size", "150", "--k", "20", "--epochs", "2", .. extra];
        string whole = Path.Combine(dir.Path, "whole"), resumed = Path.Combine(dir.Path, "resumed");
        Assert.Equal(0, Run(Rfm(whole, 3)).Code);
        Assert.Equal(0, Run(Rfm(resumed, 2)).Code);
        var (code, _, stderr) = Run(Rfm(resumed, 3, "--resume"));
        Assert.True(code == 0, stderr);
        Assert.Equal(Metrics(whole), Metrics(resumed));
        Assert.True(File.Exists(Path.Combine(resumed, "snapshots", "t002", "m.npy")));
        Assert.Equal(2, Run(Rfm(resumed, 2, "--resume")).Code);       // nothing left to do is a usage error
    }
}

public class DynamicsOnOtherDataTests
{
    [Fact]
    public void TheRfmStudyRunsOnACsvTable()
    {
        // Not tied to CIFAR-10: three Gaussian classes in 5 columns, one of them carrying the class.
        using var dir = new TempDir();
        var random = new Random(4);
        var csv = new System.Text.StringBuilder("a,b,c,d,e,label\n");
        for (int i = 0; i < 240; i++)
        {
            int label = i % 3;
            double Noise() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{label + 0.3 * Noise():F4},{Noise():F4},{Noise():F4},{Noise():F4},{Noise():F4},{label}\n");
        }
        string table = dir.WriteText("blobs.csv", csv.ToString());
        string run = Path.Combine(dir.Path, "run");
        var (code, _, stderr) = CliRunner.Run("dynamics", "rfm", "--data", table, "--out", run, "--iterations", "2", "--subsample-size", "100", "--k", "10", "--epochs", "3");
        Assert.True(code == 0, stderr);
        var m0 = Npy.Read(Path.Combine(run, "snapshots", "t000", "m.npy"));
        var m1 = Npy.Read(Path.Combine(run, "snapshots", "t001", "m.npy"));
        Assert.Equal([5, 5], m1.Shape);
        var d = (float[])m1.Data;
        Assert.True(d[0] > d[6] && d[0] > d[12], "the AGOP weighs the informative feature most");   // M₁[0,0] vs M₁[1,1], M₁[2,2]
        Assert.Equal(1f, ((float[])m0.Data)[0]);
    }
}

public class DynamicsResampleTests
{
    [Fact]
    public void ResampleProtocolBuildsAFreshModelPerBudget()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "rs");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = EigenProNet.Cli.EigenProCli.Run(["dynamics", "ntk", "--data", Path.Combine(Reference.RepoRoot(), "data", "cifar10-sample"),
            "--protocol", "resample", "--budgets", "1,3", "--out", run, "--centers", "300", "--train-rows", "600", "--subsample-size", "200", "--k", "20", "--json"], o, e);
        Assert.True(code == 0, e.ToString());
        using var doc = JsonDocument.Parse(o.ToString());
        Assert.Equal([1, 3], doc.RootElement.GetProperty("snapshots").EnumerateArray().Select(s => s.GetProperty("t").GetInt32()));
        Assert.Equal("resample", doc.RootElement.GetProperty("settings").GetProperty("protocol").GetString());
        Assert.Contains("sampling variability", doc.RootElement.GetProperty("summary").GetProperty("finding").GetString());
        var first = (long[])Npy.Read(Path.Combine(run, "snapshots", "t001", "subsample_indices.npy")).Data;
        var second = (long[])Npy.Read(Path.Combine(run, "snapshots", "t003", "subsample_indices.npy")).Data;
        Assert.NotEqual(first, second);                                                   // a fresh Nyström sample per model
        Assert.True(doc.RootElement.GetProperty("summary").GetProperty("final_subspace_distance_from_start").GetProperty("20").GetDouble() > 0.1);
        Assert.Equal(2, EigenProNet.Cli.EigenProCli.Run(["dynamics", "ntk", "--protocol", "resample", "--budgets", "3,1", "--out", Path.Combine(dir.Path, "x")], o, e));
    }
}
