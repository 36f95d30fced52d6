using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Sharding;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>
/// Center-sharded EigenPro 3 and 4 (docs/distributed.md) against the single-process solvers on the bundled CIFAR-10
/// sample: the same seed gives the same weights up to float32 summation order, for 1 to 4 shards and both projections.
/// </summary>
public class ShardedCenterModelTests
{
    internal static readonly Lazy<(Matrix X, Matrix Y, Matrix TestX, Matrix TestY)> Sample = new(() =>
    {
        var split = DatasetLoader.Load(Path.Combine(Reference.RepoRoot(), "data", "cifar10-sample"));
        var scaler = Preprocessor.Fit(Scaling.UnitRange, split.Train.Features);
        Matrix Scaled(Dataset d) => scaler.Transform(d.Features);
        return (Scaled(split.Train), split.Train.TargetMatrix(), Scaled(split.Test!), split.Test!.TargetMatrix());
    });

    internal static EigenPro3Options Options(ProjectionMode projection, CenterShards? shards = null) => new()
    {
        Epochs = 2, CenterCount = 600, DataSubsampleSize = 300, DataLevel = 40, Projection = projection, ProjectionSubsampleSize = 200,
        TrainEvaluationRows = 500, Seed = 7, Shards = shards, Compute = new ComputeContext(1),
    };

    /// <summary>EigenPro 4 with batches of 200 and 600 centers: a projection every 3 batches and at each epoch's end (10 batches).</summary>
    internal static EigenPro4Options Options4(ProjectionMode projection, CenterShards? shards = null) => new()
    {
        Epochs = 2, CenterCount = 600, DataSubsampleSize = 300, DataLevel = 40, Projection = projection, ModelSubsampleSize = 200, ModelLevel = 40,
        BatchSize = 200, TrainEvaluationRows = 500, Seed = 7, Shards = shards, Compute = new ComputeContext(1),
    };

    private static readonly Kernel Laplace = new LaplaceKernel(10);

    /// <summary>
    /// The tolerance: every product sums in another order across shards (K(X_B, Z)·α as a sum of shard partials, K(X_B, S)
    /// evaluated apart from K(X_B, Z)), so weights agree to float32 rounding amplified by the steps: 5·10⁻⁵ of the
    /// weights' largest magnitude after two epochs is allowed, ten times the largest gap measured (5.1·10⁻⁶, AVX-512); one
    /// EigenPro 3 shard (<paramref name="count"/> 1) gives the single-process weights bit for bit (count 0: no bit-for-bit case).
    /// </summary>
    internal static void AssertSameWeights(Matrix expected, Matrix actual, int count)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double scale = expected.Data.Max(v => Math.Abs((double)v)), gap = 0;
        for (int i = 0; i < expected.Data.Length; i++) gap = Math.Max(gap, Math.Abs((double)expected.Data[i] - actual.Data[i]));
        Assert.True(scale > 0, "the single-process weights are zero");
        Assert.True(gap <= (count == 1 ? 0 : 5e-5) * scale, $"largest weight difference {gap:G3} against the largest weight {scale:G3} ({gap / scale:G3} of it)");
    }

    [Theory]
    [InlineData(ProjectionMode.Inexact, 1)]
    [InlineData(ProjectionMode.Inexact, 2)]
    [InlineData(ProjectionMode.Inexact, 4)]
    [InlineData(ProjectionMode.Exact, 2)]
    [InlineData(ProjectionMode.Exact, 4)]
    public void ShardsGiveTheSingleProcessWeights(ProjectionMode projection, int count)
    {
        var (x, y, testX, testY) = Sample.Value;
        var single = new EigenPro3(Laplace, Options(projection)).Fit(x, y, testX, testY, 10);
        var shards = CenterShards.InProcess(count, compute: new ComputeContext(1));
        var sharded = new EigenPro3(Laplace, Options(projection, shards)).Fit(x, y, testX, testY, 10);
        AssertSameWeights(single.Model.Weights, sharded.Model.Weights, count);
        Assert.Equal(single.Epochs[^1].TestAccuracy!.Value, sharded.Epochs[^1].TestAccuracy!.Value, 2);
        Assert.True(sharded.Epochs[^1].TestAccuracy > 0.2, $"test accuracy {sharded.Epochs[^1].TestAccuracy}");
        var settings = (EigenPro3Settings)sharded.Settings;
        Assert.Equal(projection == ProjectionMode.Exact ? "exact" : "inexact", settings.Projection);
        // Traffic: every batch sends X_B (b × d) to each shard — at least that much per batch.
        var traffic = shards.Traffic;
        Assert.Equal(2L * ((x.Rows + settings.BatchSize - 1) / settings.BatchSize), traffic.Batches);
        Assert.True(traffic.BytesPerBatch >= 4.0 * count * settings.BatchSize * x.Columns * 0.5, $"{traffic.BytesPerBatch} bytes per batch");
        Assert.True(traffic.SlowestShardComputeSeconds > 0);
    }

    [Theory]
    [InlineData(ProjectionMode.Inexact, 1)]
    [InlineData(ProjectionMode.Inexact, 3)]
    [InlineData(ProjectionMode.Exact, 2)]
    public void EigenPro4OnShardsGivesTheSingleProcessWeights(ProjectionMode projection, int count)
    {
        // The temporary centers are cut among the shards as they join; the projections follow the same schedule.
        var (x, y, testX, testY) = Sample.Value;
        var single = new EigenPro4(Laplace, Options4(projection)).Fit(x, y, testX, testY, 10);
        var shards = CenterShards.InProcess(count, compute: new ComputeContext(1));
        var sharded = new EigenPro4(Laplace, Options4(projection, shards)).Fit(x, y, testX, testY, 10);
        Assert.Equal(3, ((EigenPro4Settings)sharded.Settings).ProjectionInterval);
        // Not bit for bit even on one shard: the shard adds K(X_B, T)·w_T before the coordinator adds K(X_B, S)·w_S.
        AssertSameWeights(single.Model.Weights, sharded.Model.Weights, count: 0);
        Assert.Equal(single.Epochs[^1].TrainMse, sharded.Epochs[^1].TrainMse, 4);
        Assert.Equal(20, shards.Traffic.Batches);
    }

    [Fact]
    public void AResumedShardedEigenPro4RunEndsWithTheUninterruptedWeights()
    {
        var (x, y, _, _) = Sample.Value;
        var whole = new EigenPro4(Laplace, Options4(ProjectionMode.Inexact, CenterShards.InProcess(2)) with { Epochs = 3 }).Fit(x, y);
        var first = new EigenPro4(Laplace, Options4(ProjectionMode.Inexact, CenterShards.InProcess(2)) with { Epochs = 1 }).Fit(x, y);
        var resumed = new EigenPro4(Laplace, Options4(ProjectionMode.Inexact, CenterShards.InProcess(2)) with
        {
            Epochs = 3, ResumeFrom = new TrainingCheckpoint(1, first.Model.Weights),
        }).Fit(x, y);
        Assert.Equal(whole.Model.Weights.Data, resumed.Model.Weights.Data);
    }

    [Fact]
    public void AResumedShardedRunEndsWithTheUninterruptedWeights()
    {
        var (x, y, testX, testY) = Sample.Value;
        var whole = new EigenPro3(Laplace, Options(ProjectionMode.Inexact, CenterShards.InProcess(2)) with { Epochs = 3 }).Fit(x, y, testX, testY, 10);
        var first = new EigenPro3(Laplace, Options(ProjectionMode.Inexact, CenterShards.InProcess(2)) with { Epochs = 1 }).Fit(x, y, testX, testY, 10);
        var resumed = new EigenPro3(Laplace, Options(ProjectionMode.Inexact, CenterShards.InProcess(2)) with
        {
            Epochs = 3, ResumeFrom = new TrainingCheckpoint(1, first.Model.Weights),
        }).Fit(x, y, testX, testY, 10);
        Assert.Equal(whole.Model.Weights.Data, resumed.Model.Weights.Data);
    }

    [Fact]
    public void AShardOfAnotherRunOrVersionIsRefused()
    {
        var (x, y, _, _) = Sample.Value;
        var shard = new LocalCenterShard();
        var e = Assert.Throws<InvalidOperationException>(() => shard.WeightsAsync("run-a").GetAwaiter().GetResult());
        Assert.Contains("holds no centers", e.Message);
        new EigenPro3(Laplace, Options(ProjectionMode.Inexact, new CenterShards([shard], "run-a")) with { Epochs = 1 }).Fit(x, y);
        e = Assert.Throws<InvalidOperationException>(() => shard.WeightsAsync("run-b").GetAwaiter().GetResult());
        Assert.Contains("holds run run-a, the request is for run run-b", e.Message);

        var old = new OtherVersionShard();
        var refused = Assert.Throws<ShardFailedException>(() => new EigenPro3(Laplace, Options(ProjectionMode.Inexact, new CenterShards([new LocalCenterShard(), old]))).Fit(x, y));
        Assert.Contains("Shard 1 on old-host runs EigenProNet 0.1.0", refused.Message);
        Assert.Equal(1, refused.Shard);
    }

    [Fact]
    public void AFailingShardStopsTheRunNamingIt()
    {
        var (x, y, _, _) = Sample.Value;
        var failing = new FailingShard(after: 3);
        var e = Assert.Throws<ShardFailedException>(() => new EigenPro3(Laplace, Options(ProjectionMode.Inexact, new CenterShards([new LocalCenterShard(), failing]))).Fit(x, y));
        Assert.Equal(1, e.Shard);
        Assert.Contains("Shard 1 of 2 failed in the forward pass: the silo went away", e.Message);
        Assert.Throws<ArgumentException>(() => new EigenPro3(Laplace, Options(ProjectionMode.Inexact, CenterShards.InProcess(601))).Fit(x, y));
    }

    private sealed class OtherVersionShard : DelegatingShard
    {
        public override Task<ShardDescription> DescribeAsync(CancellationToken ct = default) => Task.FromResult(new ShardDescription("0.1.0 protocol 0", 1, "Avx2", "old-host"));
    }

    private sealed class FailingShard(int after) : DelegatingShard
    {
        private int _forwards;

        public override Task<Matrix> ForwardAsync(string run, Matrix x, CancellationToken ct = default) =>
            ++_forwards > after ? Task.FromException<Matrix>(new IOException("the silo went away")) : base.ForwardAsync(run, x, ct);
    }

    private class DelegatingShard : ICenterShard
    {
        private readonly LocalCenterShard _inner = new();
        public virtual Task<ShardDescription> DescribeAsync(CancellationToken ct = default) => _inner.DescribeAsync(ct);
        public Task LoadAsync(ShardLoad load, CancellationToken ct = default) => _inner.LoadAsync(load, ct);
        public Task SetWeightsAsync(string run, Matrix weights, CancellationToken ct = default) => _inner.SetWeightsAsync(run, weights, ct);
        public Task<Matrix> WeightsAsync(string run, CancellationToken ct = default) => _inner.WeightsAsync(run, ct);
        public virtual Task<Matrix> ForwardAsync(string run, Matrix x, CancellationToken ct = default) => _inner.ForwardAsync(run, x, ct);
        public Task BackwardAsync(string run, BackwardStep step, CancellationToken ct = default) => _inner.BackwardAsync(run, step, ct);
        public Task<Matrix> RightHandSideAsync(string run, CancellationToken ct = default) => _inner.RightHandSideAsync(run, ct);
        public Task<ProjectionReply> ProjectAsync(string run, ProjectionRequest request, CancellationToken ct = default) => _inner.ProjectAsync(run, request, ct);
        public Task ApplyAsync(string run, float step, Matrix? theta, CancellationToken ct = default) => _inner.ApplyAsync(run, step, theta, ct);
        public Task<double> ComputeSecondsAsync(string run, CancellationToken ct = default) => _inner.ComputeSecondsAsync(run, ct);
    }
}
