using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Networks;

namespace EigenProNet.Tests;

/// <summary>
/// The ReLU network and its empirical NTK against float64 oracles: a plain-loop forward pass of the same
/// parameterisation, central finite differences, an explicit Jacobian, the analytic NTK and the linearised step.
/// </summary>
public class NetworkTests
{
    /// <summary>Parameters of <paramref name="net"/> in float64, in order w₀, b₀, w₁, … .</summary>
    private static double[] Parameters(ReluNetwork net)
    {
        var p = new List<double>();
        for (int i = 0; i < net.LayerCount; i++)
        {
            p.AddRange(net.Weight(i).Data.Select(v => (double)v));
            if (net.Bias(i) is { } b) p.AddRange(b.Select(v => (double)v));
        }
        return p.ToArray();
    }

    /// <summary>The float64 forward pass of the documented parameterisation, on a flat parameter vector.</summary>
    private static double[] Forward(ReluNetwork net, double[] theta, ReadOnlySpan<float> x)
    {
        double[] a = x.ToArray().Select(v => (double)v).ToArray();
        int k = 0;
        for (int i = 0; i < net.LayerCount; i++)
        {
            int rows = net.Weight(i).Rows, cols = net.Weight(i).Columns;
            var h = new double[rows];
            for (int r = 0; r < rows; r++)
            {
                double sum = 0;
                for (int c = 0; c < cols; c++) sum += theta[k + r * cols + c] * a[c];
                h[r] = sum / Math.Sqrt(cols);
            }
            k += rows * cols;
            if (net.HasBias) { for (int r = 0; r < rows; r++) h[r] += net.BiasScale * theta[k + r]; k += rows; }
            a = i < net.Depth ? h.Select(v => Math.Sqrt(2) * Math.Max(v, 0)).ToArray() : h;
        }
        return a;
    }

    private static double Loss(ReluNetwork net, double[] theta, Matrix x, Matrix y)
    {
        double total = 0;
        for (int r = 0; r < x.Rows; r++)
        {
            var f = Forward(net, theta, x.Row(r));
            for (int j = 0; j < f.Length; j++) total += 0.5 * (f[j] - y[r, j]) * (f[j] - y[r, j]);
        }
        return total / x.Rows;
    }

    [Theory]
    [InlineData(2, 0.0)]
    [InlineData(3, 0.7)]
    [InlineData(0, 0.5)]
    public void GradientsMatchCentralFiniteDifferencesInFloat64(int depth, double bias)
    {
        var net = ReluNetwork.Initialize(5, 7, depth, 3, seed: 4, biasScale: bias);
        var x = Matrix.RandomNormal(6, 5, 11);
        var y = Matrix.RandomNormal(6, 3, 12);
        var pass = new NetworkPass(net, 6);
        var f = pass.Forward(x, ComputeContext.Default).ToMatrix();
        // The forward pass itself against the float64 loops.
        var theta = Parameters(net);
        for (int r = 0; r < 6; r++)
        {
            var expected = Forward(net, theta, x.Row(r));
            for (int j = 0; j < 3; j++) Assert.Equal(expected[j], f[r, j], 4);
        }
        var g = new Matrix(6, 3);
        for (int r = 0; r < 6; r++) for (int j = 0; j < 3; j++) g[r, j] = (f[r, j] - y[r, j]) / 6f;
        var gradients = new NetworkGradients(net);
        pass.Backward(g, gradients, ComputeContext.Default);
        var analytic = new List<double>();
        for (int i = 0; i < net.LayerCount; i++)
        {
            analytic.AddRange(gradients.Weights[i].Data.Select(v => (double)v));
            if (gradients.Biases[i] is { } b) analytic.AddRange(b.Select(v => (double)v));
        }
        Assert.Equal(theta.Length, analytic.Count);
        const double h = 1e-6;
        double scale = analytic.Max(Math.Abs);
        for (int p = 0; p < theta.Length; p++)
        {
            var plus = (double[])theta.Clone(); plus[p] += h;
            var minus = (double[])theta.Clone(); minus[p] -= h;
            double numeric = (Loss(net, plus, x, y) - Loss(net, minus, x, y)) / (2 * h);
            // float32 backward: error ≈ a few ulps of the largest gradient entries.
            Assert.True(Math.Abs(numeric - analytic[p]) <= 2e-5 * scale + 1e-6, $"parameter {p}: finite difference {numeric}, backward {analytic[p]}");
        }
    }

    /// <summary>Σ_c J_c·J_cᵀ from an explicit float64 Jacobian (central differences of the float64 forward pass).</summary>
    private static double[,] JacobianNtk(ReluNetwork net, Matrix x)
    {
        var theta = Parameters(net);
        int s = x.Rows, c = net.Outputs;
        var jac = new double[s, c, theta.Length];
        const double h = 1e-5;
        for (int p = 0; p < theta.Length; p++)
        {
            var plus = (double[])theta.Clone(); plus[p] += h;
            var minus = (double[])theta.Clone(); minus[p] -= h;
            for (int r = 0; r < s; r++)
            {
                var fp = Forward(net, plus, x.Row(r));
                var fm = Forward(net, minus, x.Row(r));
                for (int j = 0; j < c; j++) jac[r, j, p] = (fp[j] - fm[j]) / (2 * h);
            }
        }
        var ntk = new double[s, s];
        for (int a = 0; a < s; a++)
            for (int b = 0; b < s; b++)
            {
                double sum = 0;
                for (int j = 0; j < c; j++) for (int p = 0; p < theta.Length; p++) sum += jac[a, j, p] * jac[b, j, p];
                ntk[a, b] = sum;
            }
        return ntk;
    }

    [Theory]
    [InlineData(1, 0.0, 3)]
    [InlineData(2, 0.0, 4)]
    [InlineData(3, 0.5, 3)]
    [InlineData(0, 0.0, 2)]
    public void TheBlockedEmpiricalNtkEqualsTheExplicitJacobianProduct(int depth, double bias, int outputs)
    {
        var net = ReluNetwork.Initialize(4, 6, depth, outputs, seed: 8, biasScale: bias);
        var x = Matrix.RandomNormal(7, 4, 21);
        x.Row(3).Fill(0f);                                   // a zero row (every ReLU at its kink)
        x.Row(5).CopyTo(x.Row(6));                           // a duplicate
        var theta = EmpiricalNtk.Compute(net, x);
        var reference = JacobianNtk(net, x);
        double norm = 0;
        foreach (double v in reference) norm = Math.Max(norm, Math.Abs(v));
        for (int a = 0; a < 7; a++)
            for (int b = 0; b < 7; b++)
            {
                Assert.True(Math.Abs(theta[a, b] - reference[a, b]) <= 1e-4 * norm, $"Θ[{a},{b}] = {theta[a, b]}, J·Jᵀ = {reference[a, b]}");
                Assert.Equal(theta[a, b], theta[b, a]);
            }
    }

    /// <summary>RMS over seeds of ‖Θ_w/c − k_{D+1}/d‖_F / ‖k_{D+1}/d‖_F at initialisation, per width.</summary>
    private static double[] RelativeErrors(Matrix x, int depth, int[] widths, Func<int, int> seeds)
    {
        int d = x.Columns, outputs = 2;
        var analytic = new NtkReluKernel(depth + 1).Evaluate(x, x);
        double reference = 0;
        foreach (float v in analytic.Data) reference += (double)v / d * v / d;
        return widths.Select(width =>
        {
            double sum = 0;
            int count = seeds(width);
            for (int seed = 1; seed <= count; seed++)
            {
                var theta = EmpiricalNtk.Compute(ReluNetwork.Initialize(d, width, depth, outputs, seed), x);
                double diff = 0;
                for (int i = 0; i < theta.Data.Length; i++) { double e = theta.Data[i] / outputs - analytic.Data[i] / (double)d; diff += e * e; }
                sum += diff / reference;
            }
            return Math.Sqrt(sum / count);
        }).ToArray();
    }

    /// <summary>Least-squares slope of log(error) against log(width).</summary>
    private static double Slope(int[] widths, double[] errors)
    {
        var lx = widths.Select(w => Math.Log(w)).ToArray();
        var ly = errors.Select(e => Math.Log(e)).ToArray();
        double mx = lx.Average(), my = ly.Average();
        return lx.Zip(ly).Sum(p => (p.First - mx) * (p.Second - my)) / lx.Sum(v => (v - mx) * (v - mx));
    }

    [Fact]
    public void AtInitialisationTheEmpiricalNtkApproachesTheAnalyticNtkLikeOneOverSqrtWidth()
    {
        // Real CIFAR-10 rows (pixel/255); the normalisation is Θ_w(x, z)/c → k_{D+1}(x, z)/d (see ReluNetwork). The
        // error is a random variable of the initialisation: its RMS over seeds falls like C/√w (E[error²] ∝ 1/w).
        var x = Reference.CifarRows(24);
        int[] widths = [256, 1024, 4096, 16384];
        var shallow = RelativeErrors(x, 1, widths, w => w <= 1024 ? 12 : 4);
        double slope = Slope(widths, shallow);
        Assert.True(slope is > -0.65 and < -0.35, $"depth 1: errors {string.Join(", ", shallow.Select(e => e.ToString("G3")))}, slope {slope:G3} (expected −1/2)");
        int[] deeper = [256, 1024, 4096];
        var deep = RelativeErrors(x, 2, deeper, w => w <= 1024 ? 8 : 3);
        slope = Slope(deeper, deep);
        Assert.True(slope is > -0.7 and < -0.3, $"depth 2: errors {string.Join(", ", deep.Select(e => e.ToString("G3")))}, slope {slope:G3} (expected −1/2)");
        // The constant √w·error (docs/reproduction.md): about 1–3 on these rows.
        Assert.InRange(shallow[^1] * Math.Sqrt(widths[^1]), 0.3, 5);
        Assert.InRange(deep[^1] * Math.Sqrt(deeper[^1]), 0.3, 8);
    }

    [Fact]
    public void OneSmallFullBatchStepMovesTheOutputsByTheNtkToFirstOrder()
    {
        var x = Reference.CifarRows(12);
        var targets = Matrix.RandomNormal(12, 1, 5);
        var net = ReluNetwork.Initialize(x.Columns, 512, 2, 1, seed: 3);
        var theta = EmpiricalNtk.Compute(net, x);
        var before = net.Predict(x);
        const double eta = 1e-3;
        var options = new NetworkTrainerOptions { Width = 512, Depth = 2, LearningRate = eta, BatchSize = 12, Epochs = 1, Seed = 3 };
        var after = new NetworkTrainer(options).Fit(x, targets).Network.Predict(x);
        for (int i = 0; i < 12; i++)
        {
            double predicted = 0;
            for (int j = 0; j < 12; j++) predicted -= eta * theta[i, j] * (before[j, 0] - targets[j, 0]) / 12;
            double actual = after[i, 0] - before[i, 0];
            Assert.True(Math.Abs(actual - predicted) <= 0.02 * Math.Abs(predicted) + 1e-6, $"row {i}: Δf = {actual}, −η·Θ·(f − y)/n = {predicted}");
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameNetworkAndResumingContinuesExactly()
    {
        var x = Reference.CifarRows(300);
        var labels = Enumerable.Range(0, 300).Select(i => i % 3).ToArray();
        var train = new Dataset(x, labels, 3, "cifar rows");
        var options = new NetworkTrainerOptions { Width = 64, Depth = 2, LearningRate = 0.5, BatchSize = 32, Epochs = 3, Momentum = 0.9, Seed = 7 };
        var a = new NetworkTrainer(options).Fit(train).Network;
        var b = new NetworkTrainer(options).Fit(train).Network;
        for (int i = 0; i < a.LayerCount; i++) Assert.Equal(a.Weight(i).Data, b.Weight(i).Data);
        // Stopped after epoch 1 and continued from its checkpoint (round-tripped through its arrays).
        NetworkCheckpoint? first = null;
        new NetworkTrainer(options with { Epochs = 1 }).Fit(train, observer: new CheckpointCatcher(c => first = c));
        var restored = NetworkCheckpoint.FromArrays(first!.ToArrays(), "checkpoint");
        var resumed = new NetworkTrainer(options with { ResumeFrom = restored }).Fit(train).Network;
        for (int i = 0; i < a.LayerCount; i++) Assert.Equal(a.Weight(i).Data, resumed.Weight(i).Data);
        Assert.NotEqual(a.Weight(0).Data, new NetworkTrainer(options with { Seed = 8 }).Fit(train).Network.Weight(0).Data);
    }

    private sealed class CheckpointCatcher(Action<NetworkCheckpoint> onEpoch) : INetworkObserver
    {
        public void OnEpoch(Solvers.EpochReport report, int step, NetworkCheckpoint checkpoint) => onEpoch(checkpoint);
    }

    [Fact]
    public void TrainingLearnsRealImagesAndSavesAndLoads()
    {
        var split = DatasetLoader.Load(CliRunner.Sample);
        var scaling = Preprocessor.Fit(Scaling.UnitRange, split.Train.Features);
        scaling.TransformInPlace(split.Train.Features);
        scaling.TransformInPlace(split.Test!.Features);
        var result = new NetworkTrainer(new NetworkTrainerOptions { Width = 256, Depth = 2, Epochs = 4, LearningRate = 5, Seed = 2 }).Fit(split.Train, split.Test);
        Assert.Equal(4, result.Epochs.Count);
        Assert.True(result.Epochs[^1].TrainMse < result.Epochs[0].TrainMse);
        double accuracy = result.Network.Score(split.Test);
        Assert.True(accuracy > 0.18, $"test accuracy {accuracy} (chance: 0.10)");
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "net.npz");
        result.Network.Save(path);
        var loaded = ReluNetwork.Load(path);
        Assert.Equal(result.Network.Predict(split.Test.Features).Data, loaded.Predict(split.Test.Features).Data);
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("net.npz", Assert.Throws<DataFormatException>(() => ReluNetwork.Load(path)).Message);
    }

    [Fact]
    public void ADivergingLearningRateStopsWithTheEpochAndNoNaN()
    {
        var x = Reference.CifarRows(256);
        var labels = Enumerable.Range(0, 256).Select(i => i % 4).ToArray();
        var train = new Dataset(x, labels, 4, "cifar rows");
        var e = Assert.Throws<NetworkDivergedException>(() =>
            new NetworkTrainer(new NetworkTrainerOptions { Width = 64, Depth = 2, LearningRate = 500, Epochs = 20 }).Fit(train));
        Assert.Contains("epoch", e.Message);
        Assert.True(e.Epoch >= 1);
        Assert.Throws<ArgumentException>(() => new NetworkTrainer(new NetworkTrainerOptions { Width = 0 }));
        Assert.Throws<ArgumentException>(() => new NetworkTrainer(new NetworkTrainerOptions { Depth = -1 }));
        Assert.Throws<ArgumentException>(() => new NetworkTrainer(new NetworkTrainerOptions { LearningRate = double.NaN }));
    }
}
