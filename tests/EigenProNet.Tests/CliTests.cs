using System.Text.Json;
using EigenProNet.Cli;
using EigenProNet.Data;

namespace EigenProNet.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void BenchGemmPrintsOneJsonObjectWithPeak()
    {
        var (code, stdout, stderr) = Run("bench", "gemm", "--size", "96", "--json", "--threads", "1");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal("gemm", r.GetProperty("benchmark").GetString());
        Assert.True(r.GetProperty("seconds").GetDouble() > 0);
        Assert.True(r.GetProperty("gflops").GetDouble() > 0);
        Assert.True(r.GetProperty("peak_gflops").GetDouble() > 0);
        Assert.Contains("GFLOP/s", stderr);
    }

    [Fact]
    public void BenchGemmInDoublePrecision()
    {
        var (code, stdout, _) = Run("bench", "gemm", "--size", "64", "--precision", "double", "--json", "--threads", "1");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("gemm:double", doc.RootElement.GetProperty("benchmark").GetString());
        Assert.True(doc.RootElement.GetProperty("extra").GetProperty("fraction_of_fp64_peak").GetDouble() > 0);
        var (bad, _, err) = Run("bench", "gemm", "--precision", "quad");
        Assert.Equal(2, bad);
        Assert.Contains("quad", err);
    }

    [Fact]
    public void BenchGemmMeasuresABatchShapeAndRejectsMalformedShapes()
    {
        var (code, stdout, _) = Run("bench", "gemm", "--shape", "30x20x50", "--json", "--threads", "1");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal("30x20x50,B transposed", doc.RootElement.GetProperty("shape").GetString());
            Assert.True(doc.RootElement.GetProperty("gflops").GetDouble() > 0);
        }
        foreach (var shape in new[] { "2x3", "1x2x3x4", "0x1x1", "ax2x3", "-1x2x3", "2x3x", "99999999999x2x3" })
        {
            var (bad, _, err) = Run("bench", "gemm", "--shape", shape);
            Assert.Equal(2, bad);
            Assert.Contains($"--shape expects MxKxN with three positive integers (e.g. 2000x3072x5000), found '{shape}'", err);
        }
        var (both, _, message) = Run("bench", "gemm", "--shape", "4x4x4", "--precision", "double");
        Assert.Equal(2, both);
        Assert.Contains("drop --precision double", message);
    }

    [Fact]
    public void BenchEighSavesItsMatrixForTheLapackReference()
    {
        using var dir = new TempDir();
        string path = dir.File("a.npy");
        var (code, _, _) = Run("bench", "eigh", "--n", "40", "--save-matrix", path, "--json", "--threads", "1");
        Assert.Equal(0, code);
        var saved = Npy.Read(path).ToMatrix();
        Assert.Equal((40, 40), (saved.Rows, saved.Columns));
        for (int i = 0; i < 40; i++) for (int j = 0; j < 40; j++) Assert.Equal(saved[i, j], saved[j, i]);
        var (bad, _, err) = Run("bench", "eigh", "--n", "40", "--save-matrix", Path.Combine(dir.File("missing"), "a.npy"));
        Assert.Equal(1, bad);
        Assert.Contains("does not exist", err);
    }

    [Fact]
    public void BenchEighAndCholeskyReportAccuracy()
    {
        var (code, stdout, _) = Run("bench", "eigh", "--n", "120", "--k", "10", "--json", "--threads", "1");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var extra = doc.RootElement.GetProperty("extra");
            Assert.InRange(extra.GetProperty("max_residual").GetDouble(), 0, 1e-5);
            Assert.InRange(extra.GetProperty("max_orthogonality_error").GetDouble(), 0, 1e-5);
            // The time comes with the peak measured in the same run.
            double peak = doc.RootElement.GetProperty("peak_gflops").GetDouble();
            Assert.True(peak > 0);
            Assert.Equal(doc.RootElement.GetProperty("seconds").GetDouble() * peak, extra.GetProperty("peak_gflop_seconds").GetDouble(), 6);
        }
        (code, stdout, _) = Run("bench", "cholesky", "--n", "300", "--rhs", "3", "--json", "--threads", "1");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal("cholesky", doc.RootElement.GetProperty("benchmark").GetString());
            var extra = doc.RootElement.GetProperty("extra");
            Assert.InRange(extra.GetProperty("relative_residual").GetDouble(), 0, 1e-4);
            Assert.Equal(0, extra.GetProperty("jitter").GetDouble());
            Assert.True(extra.GetProperty("factor_with_copy_seconds").GetDouble() > 0);
            Assert.InRange(extra.GetProperty("factor_with_copy_fraction_of_peak").GetDouble(), 1e-9, 1);
        }
        var (bad, _, err) = Run("bench", "cholesky", "--rhs", "0");
        Assert.Equal(2, bad);
        Assert.Contains("--rhs", err);
    }

    [Fact]
    public void BenchKernelReportsRatioToGemm()
    {
        var (code, stdout, _) = Run("bench", "kernel", "--kind", "ntk", "--rows", "40", "--cols", "50", "--dim", "30", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("kernel:ntk", doc.RootElement.GetProperty("benchmark").GetString());
        Assert.True(doc.RootElement.GetProperty("extra").GetProperty("kernel_to_gemm_time_ratio").GetDouble() > 0);
    }

    [Fact]
    public void UsageErrorsExitWithTwo()
    {
        Assert.Equal(2, Run("bench", "gemm", "--size", "abc").Code);
        Assert.Equal(2, Run("bench", "kernel", "--kind", "cosine").Code);
        Assert.Equal(2, Run("no-such-command").Code);
        var (code, _, err) = Run("bench", "gemm", "--size", "0");
        Assert.Equal(2, code);
        Assert.Contains("--size", err);
        Assert.Equal(2, Run("bench", "gemm", "--threads", "0").Code);
    }

    [Fact]
    public void HelpSucceeds()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("bench", stdout);
    }

    private static string Sample => CliRunner.Sample;

    [Fact]
    public void TrainPredictEvaluateOnTheBundledSample()
    {
        using var dir = new TempDir();
        string model = dir.File("model.epn"), results = dir.File("results.json"), predictions = dir.File("p.csv");
        var (code, stdout, stderr) = Run("train", "--data", Sample, "--kernel", "laplace", "--bandwidth", "1", "--scaling", "l2",
            "--epochs", "2", "--save", model, "--out", results, "--json", "--seed", "3");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal(File.ReadAllText(results).Trim(), stdout.Trim());
        var epochs = root.GetProperty("epochs");
        Assert.Equal(2, epochs.GetArrayLength());
        foreach (var key in new[] { "epoch", "seconds", "train_mse", "train_accuracy", "test_mse", "test_accuracy" })
            Assert.True(epochs[1].TryGetProperty(key, out _), key);
        var settings = root.GetProperty("settings");
        Assert.Equal(2000, settings.GetProperty("subsample_size").GetInt32());
        Assert.True(settings.GetProperty("batch_size").GetInt32() >= 1);
        Assert.True(settings.GetProperty("directions").GetInt32() >= 4);
        Assert.True(settings.GetProperty("step_size").GetDouble() > 0);
        Assert.Equal(500, root.GetProperty("data").GetProperty("test_rows").GetInt32());
        double testAccuracy = epochs[1].GetProperty("test_accuracy").GetDouble();
        Assert.InRange(testAccuracy, 0.3, 1.0);
        Assert.Contains("epoch 2/2", stderr);

        (code, stdout, stderr) = Run("predict", "--model", model, "--data", Sample, "--predictions", predictions, "--json");
        Assert.True(code == 0, stderr);
        using var pred = JsonDocument.Parse(stdout);
        Assert.Equal(500, pred.RootElement.GetProperty("rows").GetInt32());
        Assert.Equal(testAccuracy, pred.RootElement.GetProperty("accuracy").GetDouble(), 9);
        var lines = File.ReadAllLines(predictions);
        Assert.Equal(501, lines.Length);
        Assert.StartsWith("predicted_class,output_airplane", lines[0]);

        (code, stdout, _) = Run("evaluate", "--model", model, "--data", Sample, "--split", "train");
        Assert.Equal(0, code);
        Assert.Contains("2000 rows, accuracy", stdout);
    }

    [Fact]
    public void EigenPro3OnTheBundledSampleSavesACentersModel()
    {
        using var dir = new TempDir();
        string model = dir.File("ep3.epn");
        var (code, stdout, stderr) = Run("train", "--data", Sample, "--solver", "eigenpro3", "--centers", "600", "--subsample-size", "800",
            "--data-level", "100", "--kernel", "laplace", "--bandwidth", "1", "--scaling", "l2", "--epochs", "2", "--batch-size", "500",
            "--save", model, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var settings = doc.RootElement.GetProperty("settings");
        Assert.Equal("eigenpro3", settings.GetProperty("solver").GetString());
        Assert.Equal(600, settings.GetProperty("centers").GetInt32());
        Assert.Equal(800, settings.GetProperty("subsample_size").GetInt32());
        Assert.Equal(500, settings.GetProperty("batch_size").GetInt32());
        Assert.Equal("exact", settings.GetProperty("projection").GetString());
        Assert.Equal("preconditioned-diagonal", settings.GetProperty("beta_estimate").GetString());
        Assert.True(settings.GetProperty("beta").GetDouble() < settings.GetProperty("max_kernel_diagonal").GetDouble());
        var epochs = doc.RootElement.GetProperty("epochs");
        Assert.True(epochs[1].GetProperty("train_mse").GetDouble() < epochs[0].GetProperty("train_mse").GetDouble());
        double accuracy = epochs[1].GetProperty("test_accuracy").GetDouble();
        Assert.InRange(accuracy, 0.2, 1.0);
        // The saved model holds the 600 centers, and predicts what the training run evaluated.
        var saved = EigenProNet.Models.ModelFile.Load(model);
        Assert.Equal(600, saved.Model.Centers.Rows);
        (code, stdout, stderr) = Run("evaluate", "--model", model, "--data", Sample, "--json");
        Assert.True(code == 0, stderr);
        using var eval = JsonDocument.Parse(stdout);
        Assert.Equal(accuracy, eval.RootElement.GetProperty("accuracy").GetDouble(), 9);
        Assert.Equal(2, Run("train", "--data", Sample, "--solver", "eigenpro3", "--projection", "sometimes").Code);
        // Options of another solver are refused, not ignored.
        (code, _, stderr) = Run("train", "--data", Sample, "--solver", "eigenpro3", "--eta", "10");
        Assert.Equal(2, code);
        Assert.Contains("--eta applies to eigenpro2 only", stderr);
        (code, _, stderr) = Run("train", "--data", Sample, "--solver", "eigenpro4", "--directions", "10");
        Assert.Equal(2, code);
        Assert.Contains("--directions applies to eigenpro2 only", stderr);
        (code, _, stderr) = Run("train", "--data", Sample, "--beta", "kernel-diagonal");
        Assert.Equal(2, code);
        Assert.Contains("--beta applies to eigenpro3 and eigenpro4 only", stderr);
        (code, _, stderr) = Run("train", "--data", Sample, "--solver", "eigenpro3", "--beta", "sometimes");
        Assert.Equal(2, code);
        Assert.Contains("kernel-diagonal", stderr);
        (code, _, stderr) = Run("dynamics", "ntk", "--beta", "max");
        Assert.Equal(2, code);
        Assert.Contains("preconditioned-diagonal", stderr);
        // EigenPro 4 through the same options: its batch shrinks to what 300 centers leave room for, and says so.
        (code, stdout, stderr) = Run("train", "--data", Sample, "--solver", "eigenpro4", "--centers", "300", "--subsample-size", "300",
            "--kernel", "laplace", "--bandwidth", "1", "--scaling", "l2", "--epochs", "1", "--json");
        Assert.True(code == 0, stderr);
        using var ep4 = JsonDocument.Parse(stdout);
        var s4 = ep4.RootElement.GetProperty("settings");
        Assert.Equal("eigenpro4", s4.GetProperty("solver").GetString());
        Assert.Equal(300, s4.GetProperty("batch_size").GetInt32());
        Assert.Equal(1, s4.GetProperty("projection_interval").GetInt32());
        Assert.Equal("kernel-diagonal", s4.GetProperty("beta_estimate").GetString());
        Assert.Contains("capped to the 300 temporary centers", stderr);
        (code, _, stderr) = Run("train", "--data", Sample, "--solver", "eigenpro3", "--centers", "2001");
        Assert.Equal(1, code);
        Assert.Contains("Cannot sample 2001 centers from 2000 training rows", stderr);
    }

    [Fact]
    public void DirectSolverAndCsvThroughTheCli()
    {
        using var dir = new TempDir();
        var rows = new System.Text.StringBuilder("x1,x2,label\n");
        var random = new Random(1);
        for (int i = 0; i < 120; i++)
        {
            int c = i % 3;
            rows.Append(System.Globalization.CultureInfo.InvariantCulture, $"{c * 3 + random.NextDouble()},{-c + random.NextDouble()},{(char)('a' + c)}\n");
        }
        string csv = dir.WriteText("t.csv", rows.ToString());
        var (code, stdout, stderr) = Run("train", "--data", csv, "--solver", "auto", "--kernel", "gaussian", "--bandwidth", "1",
            "--ridge", "1e-3", "--validation-fraction", "0.25", "--json", "--save", dir.File("m.epn"));
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("direct", doc.RootElement.GetProperty("settings").GetProperty("solver").GetString());
        Assert.Equal(30, doc.RootElement.GetProperty("data").GetProperty("test_rows").GetInt32());
        Assert.True(doc.RootElement.GetProperty("epochs")[0].GetProperty("test_accuracy").GetDouble() > 0.9);
        (code, _, stderr) = Run("predict", "--model", dir.File("m.epn"), "--data", csv, "--predictions", dir.File("p.npy"));
        Assert.True(code == 0, stderr);
        Assert.Equal(new[] { 120, 3 }, EigenProNet.Data.Npy.Read(dir.File("p.npy")).Shape);
    }

    [Theory]
    [InlineData("bad-data")]
    [InlineData("nan-csv")]
    [InlineData("budget")]
    [InlineData("subsample")]
    public void FailedTrainingWritesNothing(string defect)
    {
        using var dir = new TempDir();
        string data = Sample;
        var extra = new List<string>();
        switch (defect)
        {
            case "bad-data": data = dir.Write("x.bin", new byte[3073 * 2 + 5]); break;
            case "nan-csv": data = dir.WriteText("x.csv", "1,2,0\nnan,3,1\n"); break;
            case "budget": extra.AddRange(["--memory-budget", "64KiB"]); break;   // the CLI names its option
            case "subsample": extra.AddRange(["--subsample-size", "5000"]); break;
        }
        var (code, _, stderr) = Run(["train", "--data", data, "--save", dir.File("m.epn"), "--out", dir.File("r.json"), .. extra]);
        Assert.Equal(1, code);
        Assert.StartsWith("error:", stderr.Split('\n').First(l => l.StartsWith("error:")));
        Assert.False(File.Exists(dir.File("m.epn")));
        Assert.False(File.Exists(dir.File("r.json")));
        if (defect == "budget") Assert.Contains("--memory-budget", stderr);
    }

    [Fact]
    public void TrainUsageErrorsExitWithTwo()
    {
        Assert.Equal(2, Run("train").Code);                                        // --data missing
        Assert.Equal(2, Run("train", "--data", Sample, "--kernel", "cosine").Code);
        Assert.Equal(2, Run("train", "--data", Sample, "--memory-budget", "lots").Code);
        Assert.Equal(2, Run("data", "download", "imagenet").Code);
        var (code, _, err) = Run("predict", "--model", "/nonexistent.epn", "--data", Sample);
        Assert.Equal(1, code);
        Assert.Contains("nonexistent.epn", err);
    }

    [Fact]
    public void DataInfoAndARefusedMirrorFile()
    {
        var (code, stdout, _) = Run("data", "info", "--data", Sample, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("CifarBinary", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(2000, doc.RootElement.GetProperty("parts")[0].GetProperty("rows").GetInt32());

        // A file that matches no checksum is discarded and nothing is installed.
        using var mirror = new TempDir();
        mirror.WriteText("train-images-idx3-ubyte.gz", "not the real file");
        using var target = new TempDir();
        (code, _, var err) = Run("data", "download", "mnist", "--dir", target.Path, "--mirror", mirror.Path);
        Assert.Equal(1, code);
        Assert.Contains("checksum mismatch", err);
        Assert.Empty(Directory.GetFiles(target.Path));
    }

    [RealDataFact(RealDataKind.FashionMnist)]
    public void DownloadFromTheDebianFashionMnistMirror()
    {
        // Debian's copies are re-compressed: they pass on the SHA-256 of their decompressed content.
        using var dir = new TempDir();
        var (code, _, err) = Run("data", "download", "fashion-mnist", "--dir", dir.Path, "--mirror", EigenProNet.Data.IdxFile.DebianFashionMnist);
        Assert.True(code == 0, err);
        Assert.Equal(4, Directory.GetFiles(dir.Path, "*.gz").Length);
        Assert.Contains("checksum ok", err);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100000")]
    public void ThreadCountsOutsideTheMachineAreUsageErrors(string threads)
    {
        var (multiplyCode, _, multiplyErr) = Run("bench", "multiply", "--rows", "0");
        Assert.Equal(2, multiplyCode);
        Assert.Contains("--rows, --cols, --dim and --outputs must be at least 1", multiplyErr);
        var (code, _, err) = Run("bench", "gemm", "--size", "8", "--threads", threads);
        Assert.Equal(2, code);
        Assert.Contains("--threads", err);
        Assert.Contains($"found {threads}", err);
    }

    [Fact]
    public void CheckpointAndResumeGiveTheUninterruptedModel()
    {
        using var dir = new TempDir();
        string checkpoints = Path.Combine(dir.Path, "run");
        string[] Args(int epochs, string save, params string[] extra) =>
            ["train", "--data", Sample, "--solver", "eigenpro4", "--centers", "400", "--subsample-size", "400", "--data-level", "60",
             "--projection", "inexact", "--model-subsample-size", "200", "--kernel", "laplace", "--bandwidth", "1", "--scaling", "l2",
             "--batch-size", "300", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", dir.File(save), .. extra];
        var (code, _, err) = Run(Args(2, "first.epn", "--checkpoint-dir", checkpoints));
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(checkpoints, "checkpoint.epn")));
        (code, var stdout, err) = Run(Args(3, "resumed.epn", "--checkpoint-dir", checkpoints, "--resume", "--json"));
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(3, doc.RootElement.GetProperty("epochs").GetArrayLength());   // the earlier epochs are reported too
        (code, _, err) = Run(Args(3, "straight.epn"));
        Assert.True(code == 0, err);
        Assert.Equal(KernelModelWeights(dir.File("straight.epn")), KernelModelWeights(dir.File("resumed.epn")));

        // Another run's checkpoint is refused with what differs, before any training.
        var refused = Run([.. Args(4, "x.epn", "--checkpoint-dir", checkpoints, "--resume"), "--seed", "9"]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("seed: checkpoint 1, this run 9", refused.Err);
        Assert.Equal(2, Run(Args(4, "x.epn", "--resume")).Code);                         // --resume without a folder
        Assert.Equal(2, Run(Args(4, "x.epn", "--checkpoint-dir", checkpoints)).Code);    // would overwrite a run
        Assert.Contains("already holds epoch 3", Run(Args(3, "x.epn", "--checkpoint-dir", checkpoints, "--resume")).Err);
    }

    private static float[] KernelModelWeights(string path) => EigenProNet.Models.ModelFile.Load(path).Model.Weights.Data;
}
