using EigenProNet.Distributed;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Sharding;
using EigenProNet.Solvers;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace EigenProNet.Tests;

/// <summary>A two-silo Orleans test cluster in this process, shared by the tests of the shard grains.</summary>
public sealed class TwoSiloCluster : IDisposable
{
    public TwoSiloCluster()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<Configurator>();
        Cluster = builder.Build();
        Cluster.Deploy();
    }

    public TestCluster Cluster { get; }

    public void Dispose() => Cluster.StopAllSilos();

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddCenterShards(new MemoryBudget(1L << 30), new ComputeContext(1));
    }
}

/// <summary>Center shards as Orleans grains: the single-process weights through a real (in-process) cluster, one shard per silo.</summary>
public class OrleansShardTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private static readonly Kernel Laplace = new LaplaceKernel(10);

    [Fact]
    public async Task TwoGrainShardsOnTwoSilosGiveTheSingleProcessWeights()
    {
        var (x, y, testX, testY) = ShardedCenterModelTests.Sample.Value;
        var connection = ClusterConnection.Over(fixture.Cluster.Client);
        Assert.Equal(2, (await connection.SilosAsync()).Count);
        var shards = await connection.ShardsAsync();
        Assert.Equal(2, shards.Shards.Count);
        var hosts = new HashSet<string>();
        foreach (var shard in shards.Shards) hosts.Add((await shard.DescribeAsync()).Host);
        Assert.Equal(2, hosts.Count);   // one shard on each silo

        var single = new EigenPro3(Laplace, ShardedCenterModelTests.Options(ProjectionMode.Inexact)).Fit(x, y, testX, testY, 10);
        var sharded = new EigenPro3(Laplace, ShardedCenterModelTests.Options(ProjectionMode.Inexact, shards)).Fit(x, y, testX, testY, 10);
        ShardedCenterModelTests.AssertSameWeights(single.Model.Weights, sharded.Model.Weights, 2);
        Assert.True(shards.Traffic.BytesPerBatch > 0 && shards.Traffic.WaitSeconds > 0);

        // The same grains refuse a request for another run.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => shards.Shards[0].WeightsAsync("another-run"));
        Assert.Contains($"holds run {shards.Run}", e.Message);
    }

    [Fact]
    public async Task TheSiloWatchKnowsTheShardsSilosAndSeesOneThatIsNotThere()
    {
        // The watch compares a grain's RuntimeIdentity with the active silos: if the two spellings differed, every
        // request of a run on a cluster would fail at once; if a silo that left were not seen, a run would hang.
        var connection = ClusterConnection.Over(fixture.Cluster.Client);
        await using var watch = new SiloWatch(fixture.Cluster.Client, TimeSpan.FromMilliseconds(100));
        var shards = await connection.ShardsAsync();
        var here = new List<Task>();
        foreach (var shard in shards.Shards) here.Add(watch.WhenLeft((await shard.DescribeAsync()).Host));
        var gone = watch.WhenLeft("S127.0.0.1:1:1");   // a silo that never was
        Assert.Same(gone, await Task.WhenAny(gone, Task.Delay(TimeSpan.FromSeconds(30))));
        await Task.Delay(TimeSpan.FromMilliseconds(500));   // five more polls
        Assert.All(here, t => Assert.False(t.IsCompleted));
    }
}
