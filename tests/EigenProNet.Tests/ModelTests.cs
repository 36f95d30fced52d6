using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Tests;

public class ModelTests
{
    public static TheoryData<string> KernelNames => new() { "laplace", "gaussian", "ntk", "ntk-sphere", "mahalanobis-full", "mahalanobis-diagonal" };

    private static Kernel Make(string name, int d) => name switch
    {
        "mahalanobis-full" => new MahalanobisLaplaceKernel(2.5, Gemm.Multiply(Matrix.RandomNormal(d, d, 3), Matrix.RandomNormal(d, d, 3), Transpose.Yes, Transpose.No)),
        "mahalanobis-diagonal" => new MahalanobisLaplaceKernel(2.5, Enumerable.Range(1, d).Select(i => (float)i / d).ToArray()),
        _ => new KernelSpec(name, 2.5, 3, 0.25).Create(),
    };

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void SaveLoadGivesIdenticalPredictions(string name)
    {
        var x = Matrix.RandomNormal(40, 6, 1);
        var kernel = Make(name, 6);
        var pre = Preprocessor.Fit(Scaling.Standardize, x);
        var model = new KernelModel(kernel, pre.Transform(x), Matrix.RandomNormal(40, 3, 2), 3, ["a", "b", "c"], pre);
        using var dir = new TempDir();
        string path = dir.File("m.epn");
        model.Save(path, new Dictionary<string, string> { ["solver"] = "test" });
        var saved = ModelFile.Load(path);
        var back = saved.Model;
        Assert.Equal(kernel.ToString(), back.Kernel.ToString());
        Assert.Equal(model.Weights.Data, back.Weights.Data);
        Assert.Equal(model.Centers.Data, back.Centers.Data);
        Assert.Equal(new[] { "a", "b", "c" }, back.ClassNames);
        Assert.Equal("test", saved.Metadata["solver"]);
        var query = Matrix.RandomNormal(15, 6, 7);
        Assert.Equal(model.Predict(query).Data, back.Predict(query).Data);
        Assert.Equal(model.PredictClasses(query), back.PredictClasses(query));
    }

    [Fact]
    public void NonFiniteWeightsOrCentersAreRefused()
    {
        var centers = Matrix.RandomNormal(5, 2, 1);
        var weights = Matrix.RandomNormal(5, 2, 2);
        weights[3, 1] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => new KernelModel(new LaplaceKernel(1), centers, weights, 2));
        Assert.Equal("weights", e.ParamName);
        Assert.Contains("at (3, 1)", e.Message);
        weights[3, 1] = 0;
        centers[4, 0] = float.PositiveInfinity;
        e = Assert.Throws<ArgumentException>(() => new KernelModel(new LaplaceKernel(1), centers, weights, 2));
        Assert.Equal("centers", e.ParamName);
        Assert.Contains("at (4, 0)", e.Message);
    }

    private static byte[] SavedBytes(TempDir dir)
    {
        var model = new KernelModel(new LaplaceKernel(1), Matrix.RandomNormal(5, 2, 1), Matrix.RandomNormal(5, 2, 2), 2);
        model.Save(dir.File("ok.epn"));
        return File.ReadAllBytes(dir.File("ok.epn"));
    }

    [Theory]
    [InlineData("flip", "checksum")]
    [InlineData("truncate", "checksum")]
    [InlineData("magic", "not an EigenProNet model")]
    [InlineData("newer", "newer EigenProNet")]
    [InlineData("empty", "not an EigenProNet model")]
    public void CorruptOrNewerFilesAreRefusedClearly(string defect, string message)
    {
        using var dir = new TempDir();
        var bytes = SavedBytes(dir);
        switch (defect)
        {
            case "flip": bytes[bytes.Length / 2] ^= 0x40; break;
            case "truncate": bytes = bytes[..^7]; break;
            case "magic": bytes[0] = (byte)'X'; break;
            case "newer": bytes[8] = 2; break;
            case "empty": bytes = []; break;
        }
        string path = dir.Write("bad.epn", bytes);
        var e = Assert.Throws<DataFormatException>(() => ModelFile.Load(path));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void PredictChecksTheFeatureCountAndScoreIsAccuracy()
    {
        var x = Matrix.FromRows([0, 0], [10, 10]);
        var model = new KernelModel(new GaussianKernel(1), x, Matrix.FromRows([1, 0], [0, 1]), 2);
        Assert.Contains("expects 2 features", Assert.Throws<ArgumentException>(() => model.Predict(new Matrix(3, 5))).Message);
        var data = new Dataset(Matrix.FromRows([0.1f, 0], [9.9f, 10], [0, 0.2f]), [0, 1, 1], 2, "toy");
        Assert.Equal(2.0 / 3, model.Score(data), 12);
        Assert.Equal(new[] { 0, 1, 0 }, model.PredictClasses(data.Features));
    }

    [Fact]
    public void MetricsFollowTheReference()
    {
        var p = Matrix.FromRows([0.2f, 0.9f], [0.6f, 0.1f], [-1f, 0f]);
        Assert.Equal(new[] { 1, 0, 1 }, Metrics.ArgMax(p));
        Assert.Equal(2.0 / 3, Metrics.Accuracy(p, [1, 0, 0]), 12);
        // Mean over all n × c entries of (P − onehot)².
        double expected = (0.04 + 0.01 + 0.16 + 0.01 + 4 + 0) / 6;
        Assert.Equal(expected, Metrics.MeanSquaredError(p, [1, 0, 0]), 6);
        Assert.Equal(new[] { 1, 0 }, Metrics.ArgMax(Matrix.FromRows([0.5f], [-0.5f])));
    }
}
