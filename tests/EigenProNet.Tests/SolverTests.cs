using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

public class SolverTests
{
    /// <summary>Spec §7.3 setup: n × 10 standard normal rows, Y = X·W* with W* standard normal (10 × 3).</summary>
    private static (Matrix X, Matrix Y) Synthetic(int n, int seed = 42)
    {
        var x = Matrix.RandomNormal(n, 10, seed);
        var w = Matrix.RandomNormal(10, 3, seed + 1);
        return (x, Gemm.Multiply(x, w));
    }

    private static readonly LaplaceKernel Laplace10 = new(Math.Sqrt(10));

    /// <summary>float64 eigen-decomposition of K(S, S)/s for the preconditioner's own subsample (columns of the result are eigenvectors).</summary>
    private static (double[] Values, double[] Columns, double[] A) NystromInDouble(NystromPreconditioner pre)
    {
        int s = pre.SubsampleSize;
        var k = Laplace10.Evaluate(pre.Subsample.Points, pre.Subsample.Points);
        // Exactly the matrix the preconditioner decomposes: K with each pair (i, j), (j, i) replaced by its float32 mean
        // (Kernel.EvaluateSymmetric), then scaled by 1/s in float32.
        float inv = 1f / s;
        var a = new double[s * s];
        for (int i = 0; i < s; i++) for (int j = 0; j < s; j++) a[i * s + j] = 0.5f * (k[i, j] + k[j, i]) * inv;
        var (values, columns) = SymmetricEigen.Decompose((double[])a.Clone(), s);
        return (values, columns, a);
    }

    [Theory]
    [InlineData(0.95)]
    [InlineData(1.0)]
    public void PreconditionedTopEigenvalueIsLambda1OverScale(double alpha)
    {
        // Spec §7.2: M = A − A·U·diag(D)·Uᵀ·A (A = K(S,S)/s) has eigenvalues λᵢ(λ_q/λᵢ)^α for the flattened i and λᵢ
        // beyond, so its top eigenvalue is λ₁/scale; with α = 1 the flattened ones all equal the tail. float64 path.
        var (x, _) = Synthetic(1000, seed: 7);
        var pre = NystromPreconditioner.Build(Laplace10.Prepare(x), new NystromOptions
        {
            SubsampleSize = 500, Directions = 49, DampingExponent = alpha, Seed = 3,
        });
        int s = 500, k = pre.Directions;
        Assert.Equal(49, k);
        var (values, columns, a) = NystromInDouble(pre);
        var order = Enumerable.Range(0, s).OrderByDescending(i => values[i]).ToArray();
        for (int i = 0; i <= k; i++) Assert.Equal(values[order[i]], pre.Spectrum[i], 1e-12 * values[order[0]]);
        // P = U·diag(r·s)·Uᵀ from float64 vectors and the preconditioner's float64 coefficients.
        var m = (double[])a.Clone();
        for (int p = 0; p < k; p++)
        {
            double d = pre.Coefficients[p] * s, l = values[order[p]];
            int col = order[p];
            for (int i = 0; i < s; i++)
                for (int j = 0; j < s; j++) m[i * s + j] -= l * l * d * columns[i * s + col] * columns[j * s + col];
        }
        var (mv, _) = SymmetricEigen.Decompose(m, s);
        double top = mv.Max();
        Assert.Equal(pre.TopEigenvalue, top, 1e-9 * top);
        double expected = pre.Spectrum[0] / Math.Pow(pre.Spectrum[0] / pre.TailEigenvalue, alpha);
        Assert.Equal(expected, pre.TopEigenvalue, 1e-12 * expected);
        if (alpha == 1.0)
        {
            var sorted = mv.OrderByDescending(v => v).ToArray();
            for (int i = 0; i <= k; i++) Assert.Equal(pre.TailEigenvalue, sorted[i], 1e-9 * pre.TailEigenvalue);
        }
        Assert.Equal(1.0, pre.Beta);
    }

    [Fact]
    public void StepRulesAreValuesThePreconditionerApplies()
    {
        // The named rules are values: EigenPro 3's projection rule is EigenPro 2's at half the step, in both regimes.
        Assert.Equal(new TopEigenvalueStepRule(0.5), EigenPro3.ProjectionStepRule);
        Assert.NotEqual(EigenPro2.StepRule, EigenPro3.ProjectionStepRule);
        foreach (int b in new[] { 5, 1501, 1502, 4000 })
            Assert.Equal(0.5 * EigenPro2.StepRule.StepSize(b, 1, 6.66e-4, 1e-5), EigenPro3.ProjectionStepRule.StepSize(b, 1, 6.66e-4, 1e-5), 15);
        // A rule no solver names is applied as given.
        var (x, _) = Synthetic(300);
        var quarter = NystromPreconditioner.Build(Laplace10.Prepare(x), new NystromOptions { SubsampleSize = 300, Directions = 20, StepRule = new ConstantStepRule(0.25) });
        Assert.Equal(0.25 / quarter.Beta, quarter.StepSize(9), 15);
        Assert.Equal((int)(quarter.Beta / quarter.TailEigenvalue), quarter.CriticalBatchSize);
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantStepRule(0)).ParamName);
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new TopEigenvalueStepRule(double.NaN)).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => EigenPro4.StepRule.StepSize(0, 1, 0.1, 0.01)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() =>
            NystromPreconditioner.Build(Laplace10.Prepare(x), new NystromOptions { SubsampleSize = 30, StepRule = null! })).ParamName);
    }

    [Fact]
    public void StepRulesMatchTheSpecArithmetic()
    {
        // §7.5 spot checks, through the step-rule code every preconditioner uses.
        Assert.Equal(1502, EigenPro2.StepRule.CriticalBatchSize(1, 6.66e-4, 1e-5));
        Assert.Equal(1432, 1432 * EigenPro2.StepRule.StepSize(1432, 1, 6.66e-4, 1e-5), 9);        // η = bs below m*
        Assert.Equal(7258, EigenPro3.DataStepRule.CriticalBatchSize(1, 0.1, 1.3777e-4));
        Assert.Equal(3629, 7258 * EigenPro3.DataStepRule.StepSize(7258, 1, 0.1, 1.3777e-4), 9);   // lr = bs/(2β)
        Assert.Equal(1162, EigenPro4.StepRule.CriticalBatchSize(1, 0.1, 8.6037e-4));
        Assert.Equal(1.00055, EigenPro4.StepRule.StepSize(1162, 1, 0.1, 8.6037e-4), 1e-5);   // spec: 2/(1 + 1161·8.6037e−4) = 1.00055…
        Assert.Equal(1.0, EigenPro4.StepRule.StepSize(1161, 1, 0.1, 8.6037e-4));
        var (x, _) = Synthetic(300);
        var ep2 = NystromPreconditioner.Build(Laplace10.Prepare(x), new NystromOptions { SubsampleSize = 300, Directions = 20, DampingExponent = 0.95 });
        double l1p = ep2.TopEigenvalue, beta = ep2.Beta;
        Assert.Equal((int)(beta / l1p + 1), ep2.CriticalBatchSize);
        Assert.Equal(1 / beta, ep2.StepSize(ep2.CriticalBatchSize - 1), 12);
        int big = ep2.CriticalBatchSize + 50;
        Assert.Equal(0.99 * 2 / (beta + (big - 1) * l1p), ep2.StepSize(big), 12);
        var ep4 = NystromPreconditioner.Build(Laplace10.Prepare(x), new NystromOptions { SubsampleSize = 300, Directions = 20, StepRule = EigenPro4.StepRule });
        Assert.Equal((int)(beta / ep4.TailEigenvalue), ep4.CriticalBatchSize);
        Assert.Equal(2 / (beta + (ep4.CriticalBatchSize - 1) * ep4.TailEigenvalue), ep4.StepSize(ep4.CriticalBatchSize), 12);
        Assert.Equal(1 / beta, ep4.StepSize(ep4.CriticalBatchSize - 1), 12);
        var ep3 = NystromPreconditioner.Build(Laplace10.Prepare(x), new NystromOptions { SubsampleSize = 300, Directions = 20, StepRule = EigenPro3.DataStepRule });
        Assert.Equal(0.5 / beta, ep3.StepSize(7), 12);
    }

    [Theory]
    [InlineData(0.95)]
    [InlineData(1.0)]
    public void PreconditionedBetaIsTheLargestDiagonalEntryOfThePreconditionedKernel(double alpha)
    {
        // The preconditioned kernel is k(x, y) − K(x, S)·U·diag(r)·Uᵀ·K(S, y) (the correction the steps apply). Its
        // diagonal on the subsample, computed in float64 through that operator form rather than the eigen-relation
        // the preconditioner uses, must give β. The NTK on rows of unequal norms makes k(x, x) vary (25 × on CIFAR-10).
        var x = Matrix.RandomNormal(400, 12, 3);
        var rng = new Random(5);
        for (int i = 0; i < x.Rows; i++)
        {
            float scale = (float)(0.2 + 2 * rng.NextDouble());
            foreach (ref float v in x.Row(i)) v *= scale;
        }
        var ntk = new NtkReluKernel(2);
        var pre = NystromPreconditioner.Build(ntk.Prepare(x), new NystromOptions
        {
            SubsampleSize = 300, Directions = 30, DampingExponent = alpha, Beta = BetaEstimate.PreconditionedDiagonal,
        });
        int s = pre.SubsampleSize, k = pre.Directions;
        var ks = ntk.Evaluate(pre.Subsample.Points, pre.Subsample.Points);
        double maxDiagonal = 0, expected = 0;
        for (int i = 0; i < s; i++)
        {
            double flattened = 0;
            for (int j = 0; j < k; j++)
            {
                double ku = 0;
                for (int l = 0; l < s; l++) ku += (double)ks[i, l] * pre.Eigenvectors[l, j];
                flattened += pre.Coefficients[j] * ku * ku;
            }
            maxDiagonal = Math.Max(maxDiagonal, ks[i, i]);
            expected = Math.Max(expected, ks[i, i] - flattened);
        }
        Assert.Equal(BetaEstimate.PreconditionedDiagonal, pre.BetaEstimate);
        Assert.Equal(maxDiagonal, pre.MaxKernelDiagonal, 1e-5 * maxDiagonal);
        Assert.Equal(expected, pre.Beta, 1e-4 * maxDiagonal);
        Assert.Equal(pre.MaxPreconditionedDiagonal, pre.Beta);
        Assert.True(pre.Beta < 0.5 * pre.MaxKernelDiagonal, $"β = {pre.Beta:G4}, max k(x, x) = {pre.MaxKernelDiagonal:G4}");
        // The step rules divide by this β: EigenPro 3's data batch int(β/λ_tail) and per-sample step 1/(2β).
        var ep3 = NystromPreconditioner.Build(ntk.Prepare(x), new NystromOptions
        {
            SubsampleSize = 300, Directions = 30, DampingExponent = alpha, Beta = BetaEstimate.PreconditionedDiagonal, StepRule = EigenPro3.DataStepRule,
        });
        Assert.Equal((int)(ep3.Beta / ep3.TailEigenvalue), ep3.CriticalBatchSize);
        Assert.Equal(0.5 / ep3.Beta, ep3.StepSize(10), 12);
        // Each estimate has one name, the one settings and the command line use.
        foreach (var estimate in Enum.GetValues<BetaEstimate>())
            Assert.Equal(estimate, BetaEstimates.Parse(BetaEstimates.Name(estimate)));
        Assert.Equal("preconditioned-diagonal", BetaEstimates.Name(BetaEstimate.PreconditionedDiagonal));
        Assert.Null(BetaEstimates.Parse("max"));
        // The reference's β on the same subsample is max k(x, x).
        var reference = NystromPreconditioner.Build(ntk.Prepare(x), new NystromOptions { SubsampleSize = 300, Directions = 30, DampingExponent = alpha });
        Assert.Equal(reference.MaxKernelDiagonal, reference.Beta);
        Assert.Equal(pre.MaxPreconditionedDiagonal, reference.MaxPreconditionedDiagonal);
    }

    [Theory]
    [InlineData(2, 0.02464, 41)]
    [InlineData(20, 0.00369, 271)]
    [InlineData(100, 0.00116, 862)]
    public void EigenPro2ConvergesToTheInterpolant(int topQ, double referenceLambda, int referenceBatch)
    {
        // Spec §7.3: s = n = 1000, α = 0.95; λ₁′ and the batch size depend only on the spectrum (reference values
        // from another random draw of the same distribution, so compared within 10 %); MSE < 1e-5 within 20 epochs
        // and α within 5e-3 of K⁻¹Y.
        var (x, y) = Synthetic(1000);
        var solver = new EigenPro2(Laplace10, new EigenPro2Options { Epochs = 20, Directions = topQ - 1, Seed = 42, TrainEvaluationRows = 1000 });
        var result = solver.Fit(x, y);
        var settings = Assert.IsType<EigenPro2Settings>(result.Settings);
        Assert.Equal(1000, settings.SubsampleSize);
        Assert.InRange(settings.PreconditionedTopEigenvalue, 0.9 * referenceLambda, 1.1 * referenceLambda);
        Assert.InRange(settings.BatchSize, 0.9 * referenceBatch, 1.1 * referenceBatch);
        Assert.Equal(settings.BatchSize, settings.Eta);   // linear regime: η = b/β with β = 1
        var mse = result.Epochs.Select(e => e.TrainMse).ToArray();
        Assert.True(mse[^1] < 1e-5, $"train MSE after 20 epochs: {mse[^1]:G3}");
        for (int e = 4; e < mse.Length; e += 4) Assert.True(mse[e] < 0.5 * mse[e - 4], $"MSE not falling geometrically: {string.Join(", ", mse.Select(v => v.ToString("G2")))}");
        var exact = new DirectSolver(Laplace10).Fit(x, y).Model.Weights;
        Assert.True(RelativeDifference(result.Model.Weights, exact) < 5e-3, $"‖α − K⁻¹Y‖/‖K⁻¹Y‖ = {RelativeDifference(result.Model.Weights, exact):G3}");
    }

    /// <summary>Keeps the data preconditioner a solver hands its observer.</summary>
    private sealed class PreconditionerSeen : ITrainingObserver
    {
        public NystromPreconditioner? Preconditioner { get; private set; }
        public void OnPreconditioner(NystromPreconditioner preconditioner) => Preconditioner ??= preconditioner;
    }

    [Fact]
    public void EverySolverReportsTheDirectionsItsPreconditionerFlattens()
    {
        // One vocabulary: Settings.Directions is k, the flattened directions (EigenPro 2 used to report k + 1, the reference's top_q).
        var (x, y) = Synthetic(600);
        IKernelSolver[] solvers =
        [
            new EigenPro2(Laplace10, new EigenPro2Options { Epochs = 1, SubsampleSize = 200, Directions = 30 }),
            new EigenPro2(Laplace10, new EigenPro2Options { Epochs = 1, SubsampleSize = 200 }),
            new EigenPro3(Laplace10, new EigenPro3Options { Epochs = 1, CenterCount = 300, DataSubsampleSize = 200, DataLevel = 30 }),
            new EigenPro4(Laplace10, new EigenPro4Options { Epochs = 1, CenterCount = 300, DataSubsampleSize = 200, DataLevel = 30 }),
        ];
        foreach (var solver in solvers)
        {
            var seen = new PreconditionerSeen();
            var result = solver.Fit(x, y, observer: seen);
            Assert.Equal(seen.Preconditioner!.Directions, Assert.IsAssignableFrom<PreconditionedSettings>(result.Settings).Directions);
        }
        Assert.Equal(30, ((PreconditionedSettings)solvers[0].Fit(x, y).Settings).Directions);
        Assert.Throws<ArgumentException>(() => new EigenPro2(Laplace10, new EigenPro2Options { Epochs = 1, SubsampleSize = 200, Directions = 200 }).Fit(x, y));
    }

    [Fact]
    public void WithQEqualOneEigenPro2IsPlainSgdWithStepOneOverBeta()
    {
        var (x, y) = Synthetic(200);
        const int batch = 1;   // below the critical batch size β/λ₁ + 1, where the step is 1/β
        var result = new EigenPro2(Laplace10, new EigenPro2Options { Epochs = 1, Directions = 0, BatchSize = batch, SubsampleSize = 100, Seed = 9 }).Fit(x, y);
        var settings = Assert.IsType<EigenPro2Settings>(result.Settings);
        Assert.Equal(0, settings.Directions);
        Assert.Equal(1.0, settings.StepSize);
        // float64 SGD over the same permutation: α[B] −= (1/β)·(K(X_B, X)·α − Y_B).
        var k = Reference.ToDouble(Laplace10.Evaluate(x, x));
        var alpha = new double[200, 3];
        var order = Preprocessing.Permutation(200, SeedStreams.Create(9, SeedStreams.EpochShuffle, 1));
        for (int start = 0; start < 200; start += batch)
        {
            var g = new double[batch, 3];
            for (int b = 0; b < batch; b++)
                for (int c = 0; c < 3; c++)
                {
                    double p = 0;
                    for (int j = 0; j < 200; j++) p += k[order[start + b], j] * alpha[j, c];
                    g[b, c] = p - y[order[start + b], c];
                }
            for (int b = 0; b < batch; b++) for (int c = 0; c < 3; c++) alpha[order[start + b], c] -= g[b, c];
        }
        double num = 0, den = 0;
        for (int i = 0; i < 200; i++)
            for (int c = 0; c < 3; c++) { num += Math.Pow(result.Model.Weights[i, c] - alpha[i, c], 2); den += alpha[i, c] * alpha[i, c]; }
        Assert.True(Math.Sqrt(num / den) < 1e-5, $"relative difference {Math.Sqrt(num / den):G3}");
    }

    [Fact]
    public void EigenPro2AgreesWithTheDirectSolverOnRealCifar()
    {
        var split = DatasetLoader.Load(Path.Combine(Reference.RepoRoot(), "data", "cifar10-sample"));
        var scaling = Preprocessor.Fit(Scaling.L2, split.Train.Features);
        var train = split.Train.WithFeatures(scaling.Transform(split.Train.Features));
        var test = split.Test!.WithFeatures(scaling.Transform(split.Test.Features));
        var kernel = new LaplaceKernel(1);
        var direct = new DirectSolver(kernel).Fit(train, test);
        var ep = new EigenPro2(kernel, new EigenPro2Options { Epochs = 10, Seed = 1 }).Fit(train, test);
        var pd = direct.Model.Predict(test.Features);
        var pe = ep.Model.Predict(test.Features);
        double diff = RelativeDifference(pe, pd);
        Assert.True(diff < 0.05, $"relative prediction difference {diff:G3}");
        Assert.InRange(ep.Epochs[^1].TestAccuracy!.Value, direct.Epochs[0].TestAccuracy!.Value - 0.02, direct.Epochs[0].TestAccuracy!.Value + 0.02);
        Assert.True(direct.Epochs[0].TestAccuracy > 0.35, "a Laplace kernel on 2000 CIFAR-10 images should beat 35 %");
    }

    [Fact]
    public void TrainingIsReproducibleForASeed()
    {
        var (x, y) = Synthetic(300);
        var o = new EigenPro2Options { Epochs = 2, Seed = 5, SubsampleSize = 100 };
        var a = new EigenPro2(Laplace10, o).Fit(x, y).Model.Weights;
        var b = new EigenPro2(Laplace10, o).Fit(x, y).Model.Weights;
        Assert.Equal(a.Data, b.Data);
        var c = new EigenPro2(Laplace10, o with { Seed = 6 }).Fit(x, y).Model.Weights;
        Assert.NotEqual(a.Data, c.Data);
    }

    [Fact]
    public void ObserverSeesThePreconditionerAndEveryEpoch()
    {
        var (x, y) = Synthetic(300);
        var observer = new RecordingObserver();
        var progress = new List<TrainingProgress>();
        new EigenPro2(Laplace10, new EigenPro2Options { Epochs = 3, SubsampleSize = 100 })
            .Fit(x, y, x, y, 0, new SyncProgress(progress), observer);
        Assert.NotNull(observer.Preconditioner);
        Assert.Equal(100, observer.Preconditioner!.SubsampleIndices.Count);
        Assert.Equal(new[] { 1, 2, 3 }, observer.Epochs);
        Assert.Contains(progress, p => p.Phase == "train" && p.Epoch == 3 && p.Batch == p.Batches);
    }

    [Fact]
    public void EarlyStoppingKeepsTheBestValidationWeights()
    {
        var (x, y) = Synthetic(400);
        var (vx, vy) = Synthetic(100, seed: 99);
        // Noisy targets make the validation error turn up once the model interpolates the noise.
        var noisy = y.Clone();
        var noise = Matrix.RandomNormal(400, 3, 1234, 3f);
        for (int i = 0; i < noisy.Data.Length; i++) noisy.Data[i] += noise.Data[i];
        var r = new EigenPro2(Laplace10, new EigenPro2Options { Epochs = 30, EarlyStoppingPatience = 2, SubsampleSize = 200 }).Fit(x, noisy, vx, vy);
        Assert.NotNull(r.BestEpoch);
        double best = r.Epochs.Min(e => e.TestMse!.Value);
        Assert.Equal(best, r.Epochs[r.BestEpoch!.Value - 1].TestMse);
        var p = r.Model.Predict(vx);
        Assert.Equal(best, Metrics.MeanSquaredError(p, vy), 1e-6);
    }

    [Fact]
    public void BadInputGivesClearErrors()
    {
        var (x, y) = Synthetic(50);
        var ep = new EigenPro2(Laplace10);
        Assert.Contains("rows", Assert.Throws<ArgumentException>(() => ep.Fit(x, new Matrix(49, 3))).Message);
        Assert.Contains("at least 2", Assert.Throws<ArgumentException>(() => ep.Fit(new Matrix(1, 10), new Matrix(1, 3))).Message);
        var nan = x.Clone();
        nan[3, 4] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => ep.Fit(nan, y)).Message);
        Assert.Contains("larger than the 50", Assert.Throws<ArgumentException>(() => new EigenPro2(Laplace10, new EigenPro2Options { SubsampleSize = 51 }).Fit(x, y)).Message);
        var tiny = new EigenPro2(Laplace10, new EigenPro2Options { Budget = new MemoryBudget(64) });
        Assert.Contains("budget", Assert.Throws<MemoryBudgetExceededException>(() => tiny.Fit(x, y)).Message);
        Assert.Contains("memory budget", Assert.Throws<MemoryBudgetExceededException>(() => new DirectSolver(Laplace10, 0, new MemoryBudget(1000)).Fit(x, y)).Message);
        Assert.Throws<ArgumentException>(() => new DirectSolver(Laplace10, -1));
    }

    private static double RelativeDifference(MatrixView a, MatrixView b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Rows; i++)
            for (int j = 0; j < a.Columns; j++) { num += Math.Pow(a[i, j] - b[i, j], 2); den += Math.Pow(b[i, j], 2); }
        return Math.Sqrt(num / den);
    }

    private sealed class RecordingObserver : ITrainingObserver
    {
        public NystromPreconditioner? Preconditioner;
        public readonly List<int> Epochs = [];
        public void OnPreconditioner(NystromPreconditioner preconditioner) => Preconditioner = preconditioner;
        public void OnEpoch(EpochReport report, KernelModel model) => Epochs.Add(report.Epoch);
    }

    private sealed class SyncProgress(List<TrainingProgress> sink) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => sink.Add(value);
    }
}
