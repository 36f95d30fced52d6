using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

public class EigenPro4Tests
{
    private static readonly LaplaceKernel Kernel = new(Math.Sqrt(10));

    private static (Matrix X, Matrix Y, Matrix Z) Realizable(int n, int p, int seed = 42)
    {
        var x = Matrix.RandomNormal(n, 10, seed);
        var rows = EigenProNet.Data.Preprocessing.Permutation(n, new Random(seed))[..p];
        var z = new Matrix(p, 10);
        for (int i = 0; i < p; i++) x.Row(rows[i]).CopyTo(z.Row(i));
        return (x, Gemm.Multiply(Kernel.Evaluate(x, z), Matrix.RandomNormal(p, 3, seed + 1, 0.1f)), z);
    }

    private static double MeanSquare(Matrix m) => m.Data.Average(v => (double)v * v);

    [Fact]
    public void DelayedProjectionConvergesAsTheSpecSays()
    {
        // §7.4: s_data = 1000, q_data = 100, s_model = 500, q_model = 100, coefficient 2 → m*_data ≈ 1162 = the batch,
        // T = (1·2500) // 1162 = 2, per-sample step ≈ 1/β; train MSE decreasing and relative error < 0.1 within 6 epochs.
        var (x, y, z) = Realizable(6000, 2500);
        var result = new EigenPro4(Kernel, new EigenPro4Options
        {
            Epochs = 6, Centers = z, DataSubsampleSize = 1000, DataLevel = 100, ModelSubsampleSize = 500, ModelLevel = 100,
            Projection = ProjectionMode.Inexact, TrainEvaluationRows = 6000,
        }).Fit(x, y);
        var s = Assert.IsType<EigenPro4Settings>(result.Settings);
        Assert.Equal("eigenpro4", s.Solver);
        Assert.InRange(s.BatchSize, 1100, 1250);
        Assert.Equal(s.CriticalBatchSize, s.BatchSize);
        Assert.Equal(2500 / s.BatchSize, s.ProjectionInterval);
        Assert.InRange(s.StepSize, 0.99, 1.01);
        var mse = result.Epochs.Select(e => e.TrainMse).ToArray();
        for (int e = 1; e < mse.Length; e++) Assert.True(mse[e] < mse[e - 1], $"MSE {string.Join(", ", mse)}");
        Assert.True(Math.Sqrt(mse[^1] / MeanSquare(y)) < 0.1, $"relative error {Math.Sqrt(mse[^1] / MeanSquare(y)):G3}");
    }

    [Fact]
    public void AccumulatorIsTheTemporaryModelAtTheCenters()
    {
        // §7.4 invariant: between projections acc = K(Z, T)·w_T + K(Z, S)·w_S; after a projection f(x) = K(x, Z)·α.
        var (x, y, z) = Realizable(900, 300, seed: 5);
        var points = Kernel.Prepare(x);
        var centers = Kernel.Prepare(z);
        var pre = NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 200, Directions = 20, DampingExponent = 1, StepRule = EigenPro4.StepRule });
        var zs = new Matrix(300, 200);
        Kernel.Evaluate(centers, pre.Subsample, zs);
        var lift = new Matrix(300, 20);
        pre.LiftAt(zs, lift);
        var projection = CenterProjection.Exact(centers, new MemoryBudget(1L << 30), ComputeContext.Default);
        var state = new DelayedProjectionState(Kernel, TrainingRows.InMemory(points), y, centers, pre, lift, projection, 300, 100, 3, false, ComputeContext.Default);
        int[] order = [.. EigenProNet.Data.Preprocessing.Permutation(900, new Random(2))];
        state.Step(order.AsSpan(0, 100), 0.9f, default);
        state.Step(order.AsSpan(100, 100), 0.9f, default);
        Assert.Equal(200, state.TemporaryCount);
        var (temp, wt, ws) = state.Temporary;
        var expected = Gemm.Multiply(Kernel.Evaluate(z, temp.ToMatrix()), wt);
        var nystrom = Gemm.Multiply(zs, ws);
        double scale = expected.Data.Max(v => Math.Abs(v));
        for (int i = 0; i < expected.Data.Length; i++)
        {
            double e = expected.Data[i] + nystrom.Data[i];
            Assert.True(Math.Abs(state.Accumulated.Data[i] - e) <= 1e-4 * scale, $"acc[{i}] = {state.Accumulated.Data[i]} vs {e}");
        }
        // The projection folds exactly K(Z, Z)⁻¹·acc into α and drops the rest.
        var alphaBefore = state.Alpha.Clone();
        var theta = Cholesky.Factor(Kernel.Evaluate(z, z)).Solve(state.Accumulated);
        state.Project(default);
        Assert.True(state.IsProjected);
        Assert.Equal(0f, state.Temporary.NystromWeights.Data.Max(v => Math.Abs(v)));
        for (int i = 0; i < theta.Data.Length; i++)
            Assert.True(Math.Abs(state.Alpha.Data[i] - alphaBefore.Data[i] - theta.Data[i]) <= 1e-4 * (1 + Math.Abs(theta.Data[i])));
    }

    [Fact]
    public void TooFewCentersForOneBatchIsAClearError()
    {
        var (x, y, z) = Realizable(1000, 50, seed: 8);
        var e = Assert.Throws<ArgumentException>(() => new EigenPro4(Kernel, new EigenPro4Options
        {
            Centers = z, DataSubsampleSize = 300, DataLevel = 30, BatchSize = 200,
        }).Fit(x, y));
        Assert.Contains("50 centers leave room for 50 temporary centers, fewer than one batch of 200", e.Message);
        Assert.Equal("Options", e.ParamName);
        ArgumentException Fails(EigenPro4Options o) => Assert.Throws<ArgumentException>(() => new EigenPro4(Kernel, o).Fit(x, y));
        Assert.Contains("level must be at least 1, found 0", Fails(new EigenPro4Options { Centers = z, DataSubsampleSize = 300, DataLevel = 0 }).Message);
        Assert.Contains("projection preconditioner's level must be at least 1", Fails(new EigenPro4Options { Centers = z, ModelLevel = 0 }).Message);
        Assert.Contains("coefficient must be at least 2, found 1", Fails(new EigenPro4Options { Centers = z, TemporaryCentersCoefficient = 1 }).Message);
        Assert.Contains("at least 2, found 1", Fails(new EigenPro4Options { Centers = z, DataSubsampleSize = 1 }).Message);
    }
}

public class EigenPro4ModelTests
{
    [Theory]
    [InlineData(ProjectionMode.Exact)]
    [InlineData(ProjectionMode.Inexact)]
    public void FitBatchOverAnEpochsBatchesIsTheEpochOfFit(ProjectionMode projection)
    {
        var x = Matrix.RandomNormal(600, 8, 11);
        var y = new Matrix(600, 3);
        for (int i = 0; i < 600; i++) { y[i, i % 3] = 1f; x[i, i % 3] += 2f; }
        var kernel = new LaplaceKernel(3);
        var centers = new Matrix(120, 8);
        for (int i = 0; i < 120; i++) x.Row(5 * i).CopyTo(centers.Row(i));
        int[] sample = Enumerable.Range(0, 150).Select(i => 4 * i + 1).ToArray();
        // 120 centers leave room for (2 − 1)·120 temporary ones: T = 120 / 50 = 2, so 12 batches project after every second.
        var options = new EigenPro4Options
        {
            Epochs = 1, Centers = centers, DataSubsampleSize = 150, DataSubsampleIndices = sample, DataLevel = 40, BatchSize = 50,
            ModelSubsampleSize = 60, ModelLevel = 20, Projection = projection, Seed = 7,
        };
        var fit = new EigenPro4(kernel, options).Fit(x, y);
        Assert.Equal(2, Assert.IsType<EigenPro4Settings>(fit.Settings).ProjectionInterval);

        var dataSample = new Matrix(150, 8);
        for (int i = 0; i < 150; i++) x.Row(sample[i]).CopyTo(dataSample.Row(i));
        var streaming = new EigenPro4Model(kernel, centers, 3, dataSample, options, maxBatchSize: 50);
        Assert.Equal(projection == ProjectionMode.Exact ? "exact" : "inexact", streaming.Projection);
        Assert.Equal(2, streaming.ProjectionInterval);
        Assert.Equal(40, streaming.EigenvaluesData.Count);
        Assert.Equal((150, 40), (streaming.EigenvectorsData.Rows, streaming.EigenvectorsData.Columns));
        var order = EigenProNet.Data.Preprocessing.Permutation(600, EigenProNet.Data.SeedStreams.Create(7, EigenProNet.Data.SeedStreams.EpochShuffle, 1));
        for (int b = 0; b < 12; b++)
        {
            var xb = new Matrix(50, 8);
            var yb = new Matrix(50, 3);
            for (int i = 0; i < 50; i++) { x.Row(order[50 * b + i]).CopyTo(xb.Row(i)); y.Row(order[50 * b + i]).CopyTo(yb.Row(i)); }
            streaming.FitBatch(xb, yb);
            Assert.Equal(b % 2 == 1 ? 0 : 50, streaming.PendingTemporaryCenters);
            // Predicting mid-stream reads the model as it trains and changes nothing (it used to project what was pending).
            var probe = streaming.Predict(xb);
            Assert.Equal(b % 2 == 1 ? 0 : 50, streaming.PendingTemporaryCenters);
            Assert.True(probe.Data.All(float.IsFinite));
        }
        Assert.Equal(12, streaming.BatchesFitted);
        Assert.Equal(fit.Model.Weights.Data, streaming.Weights.Data);
        var model = streaming.ToModel(classCount: 3);
        Assert.Equal(fit.Model.Predict(x).Data, model.Predict(x).Data);
        // With nothing pending, the training-time model is the saved one.
        var direct = streaming.Predict(x);
        var saved = model.Predict(x);
        double largest = saved.Data.Max(v => Math.Abs((double)v));
        for (int i = 0; i < saved.Data.Length; i++) Assert.True(Math.Abs(direct.Data[i] - saved.Data[i]) <= 1e-5 * largest, $"entry {i}");

        // One more batch leaves temporary centers pending; ToModel projects them, and the model changed.
        streaming.FitBatch(x.RowBlock(0, 50).ToMatrix(), y.RowBlock(0, 50).ToMatrix());
        Assert.Equal(50, streaming.PendingTemporaryCenters);
        var later = streaming.ToModel(classCount: 3);
        Assert.Equal(0, streaming.PendingTemporaryCenters);
        Assert.NotEqual(model.Weights.Data, later.Weights.Data);
        Assert.Equal(later.Weights.Data, streaming.Weights.Data);

        // Bad input is named.
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => streaming.FitBatch(new Matrix(51, 8), new Matrix(51, 3))).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => streaming.FitBatch(new Matrix(10, 7), new Matrix(10, 3))).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => streaming.Predict(new Matrix(10, 7))).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => streaming.FitBatch(new Matrix(10, 8), new Matrix(10, 2))).ParamName);
        var nan = new Matrix(10, 8);
        nan[3, 2] = float.NaN;
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => streaming.FitBatch(nan, new Matrix(10, 3))).ParamName);
        Assert.Equal("dataSample", Assert.Throws<ArgumentException>(() => new EigenPro4Model(kernel, centers, 3, new Matrix(10, 7))).ParamName);
        Assert.Equal("maxBatchSize", Assert.Throws<ArgumentException>(() => new EigenPro4Model(kernel, centers, 3, dataSample, options, maxBatchSize: 121)).ParamName);
    }
}
