using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>EigenPro 3 and 4 trained from a memory-mapped .npy give the in-memory model; bad files are named.</summary>
public class RowSourceTests
{
    private static (Matrix X, Matrix Y) Data()
    {
        var x = Matrix.RandomNormal(700, 12, 5);
        var y = new Matrix(700, 3);
        for (int i = 0; i < 700; i++) y[i, i % 3] = 1f;
        for (int i = 0; i < 700; i++) x[i, i % 3] += 2f;
        return (x, y);
    }

    public static TheoryData<string> Solvers() => new() { "eigenpro3", "eigenpro4" };

    private static IKernelSolver Create(string name) => name == "eigenpro3"
        ? new EigenPro3(new LaplaceKernel(3), new EigenPro3Options { Epochs = 2, CenterCount = 200, DataSubsampleSize = 150, DataLevel = 30, TrainEvaluationRows = 300 })
        : new EigenPro4(new LaplaceKernel(3), new EigenPro4Options
        {
            Epochs = 2, CenterCount = 300, DataSubsampleSize = 150, DataLevel = 30, ModelSubsampleSize = 100, ModelLevel = 30, BatchSize = 100,
            Projection = ProjectionMode.Inexact, TrainEvaluationRows = 300,
        });

    [Theory]
    [MemberData(nameof(Solvers))]
    public void MemoryMappedRowsTrainTheInMemoryModel(string name)
    {
        var (x, y) = Data();
        using var dir = new TempDir();
        string path = dir.File("x.npy");
        Npy.Write(path, x);
        var inMemory = Create(name).Fit(x, y, x, y, 3);
        TrainingResult streamed;
        using (var rows = new NpyRows(path))
        {
            Assert.Equal(700, rows.Count);
            Assert.Equal(12, rows.Dimension);
            streamed = name == "eigenpro3" ? ((EigenPro3)Create(name)).Fit(rows, y, x, y, 3) : ((EigenPro4)Create(name)).Fit(rows, y, x, y, 3);
        }
        Assert.Equal(inMemory.Model.Centers.Data, streamed.Model.Centers.Data);
        Assert.Equal(inMemory.Model.Weights.Data, streamed.Model.Weights.Data);
        Assert.Equal(inMemory.Epochs.Select(e => e.TestAccuracy), streamed.Epochs.Select(e => e.TestAccuracy));
        Assert.Equal(inMemory.Epochs.Select(e => e.TrainMse), streamed.Epochs.Select(e => e.TrainMse));
    }

    [Fact]
    public void BadFilesAndValuesAreNamed()
    {
        var (x, y) = Data();
        using var dir = new TempDir();
        x[437, 5] = float.NaN;
        Npy.Write(dir.File("nan.npy"), x);
        using (var rows = new NpyRows(dir.File("nan.npy")))
        {
            var e = Assert.Throws<ArgumentException>(() => ((EigenPro3)Create("eigenpro3")).Fit(rows, y));
            Assert.Contains("nan.npy", e.Message);
            Assert.Contains("row 437, column 5", e.Message);
        }
        Npy.Write(dir.File("f8.npy"), new NpyArray(new double[6], 2, 3));
        Assert.Contains("float32", Assert.Throws<DataFormatException>(() => new NpyRows(dir.File("f8.npy"))).Message);
        Npy.Write(dir.File("1d.npy"), new NpyArray(new float[6], 6));
        Assert.Contains("2-D", Assert.Throws<DataFormatException>(() => new NpyRows(dir.File("1d.npy"))).Message);
        // Truncated: the header promises more rows than the file holds.
        Npy.Write(dir.File("cut.npy"), x);
        var bytes = File.ReadAllBytes(dir.File("cut.npy"));
        File.WriteAllBytes(dir.File("cut.npy"), bytes[..^100]);
        Assert.Contains("truncated", Assert.Throws<DataFormatException>(() => new NpyRows(dir.File("cut.npy"))).Message);
        // Rows and targets that disagree.
        Npy.Write(dir.File("ok.npy"), Matrix.RandomNormal(10, 3, 1));
        using var ok = new NpyRows(dir.File("ok.npy"));
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => ((EigenPro4)Create("eigenpro4")).Fit(ok, new Matrix(9, 2))).ParamName);
    }
}

public class MemoryMapCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void TrainFromAMemoryMappedNpyMatchesTheInMemoryRun()
    {
        string sample = Path.Combine(Reference.RepoRoot(), "data", "cifar10-sample");
        using var dir = new TempDir();
        // The sample's training rows scaled as `--scaling pixels` scales them, written as float32 features + labels.
        var train = CifarBinary.Load([Path.Combine(sample, "data_batch_1.bin")]);
        Preprocessor.Fit(Scaling.Pixels, train.Features).TransformInPlace(train.Features);
        Npy.Write(dir.File("x.npy"), train.Features);
        Npy.Write(dir.File("y.npy"), new NpyArray(train.Labels!.Select(l => (long)l).ToArray(), train.Count));
        string[] options = ["--solver", "eigenpro3", "--centers", "600", "--subsample-size", "500", "--data-level", "100", "--epochs", "2",
            "--kernel", "laplace", "--bandwidth", "10", "--json"];
        var (code, stdout, stderr) = Run(["train", "--data", sample, "--scaling", "pixels", .. options]);
        Assert.True(code == 0, stderr);
        using var inMemory = System.Text.Json.JsonDocument.Parse(stdout);
        (code, stdout, stderr) = Run(["train", "--data", dir.File("x.npy"), "--labels", dir.File("y.npy"), "--memory-map",
            "--test", Path.Combine(sample, "test_batch.bin"), .. options]);
        Assert.True(code == 0, stderr);
        using var mapped = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.True(mapped.RootElement.GetProperty("data").GetProperty("memory_mapped").GetBoolean());
        double Accuracy(System.Text.Json.JsonDocument d) => d.RootElement.GetProperty("epochs")[1].GetProperty("train_accuracy").GetDouble();
        Assert.Equal(Accuracy(inMemory), Accuracy(mapped));

        Assert.Equal(2, Run("train", "--data", dir.File("x.npy"), "--memory-map").Code);                                     // no --labels
        Assert.Equal(2, Run("train", "--data", dir.File("x.npy"), "--labels", dir.File("y.npy"), "--memory-map").Code);     // EigenPro 2
        var bad = Run("train", "--data", dir.File("x.npy"), "--labels", dir.File("x.npy"), "--memory-map", "--solver", "eigenpro4");
        Assert.Equal(1, bad.Code);
        Assert.Contains("one label per training row", bad.Err);
    }
}
