using System.Diagnostics;
using EigenProNet.Distributed;

namespace EigenProNet.Tests;

/// <summary>
/// <c>eigenpro train --cluster/--shards</c> and <c>eigenpro cluster</c> in this process: the sharded run on the bundled
/// sample, a checkpoint resumed on as many shards as it started with, and bad input. (.ci/cluster-check runs the
/// silos as separate processes.)
/// </summary>
public class ClusterCliTests
{
    private static readonly string[] Data =
        ["train", "--data", CliRunner.Sample, "--train-rows", "600", "--test-rows", "100", "--centers", "300", "--threads", "1"];

    private static readonly string[] Train = [.. Data, "--solver", "eigenpro3", "--epochs", "2"];

    [Fact]
    public void InProcessShardsTrainTheSampleAndTheirCountIsPartOfTheCheckpoint()
    {
        using var dir = new TempDir();
        string ck = Path.Combine(dir.Path, "ck");
        var (code, stdout, stderr) = CliRunner.Run([.. Data, "--solver", "eigenpro3", "--shards", "3", "--checkpoint-dir", ck, "--epochs", "1"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("shards: 3 in this process", stderr);
        Assert.Matches(@"shards: 3 loaded with [0-9.]+ MiB", stdout);
        (code, _, stderr) = CliRunner.Run([.. Train, "--shards", "2", "--checkpoint-dir", ck, "--resume"]);
        Assert.Equal(1, code);
        Assert.Contains("shards: checkpoint 3, this run 2", stderr);
        (code, _, stderr) = CliRunner.Run([.. Train, "--shards", "3", "--checkpoint-dir", ck, "--resume"]);
        Assert.True(code == 0, stderr);
    }

    [Theory]
    [InlineData(new[] { "--solver", "eigenpro2", "--shards", "2" }, "they do not apply to eigenpro2", false)]
    [InlineData(new[] { "--shards", "0" }, "--shards must be between 1 and --centers = 300, found 0")]
    [InlineData(new[] { "--cluster", "localhost" }, "--cluster: Expected host:port")]
    [InlineData(new[] { "--cluster", "127.0.0.1:70000" }, "port in 1…65534")]
    [InlineData(new[] { "--cluster", "no-such-host.invalid:11111" }, "could not be resolved")]
    [InlineData(new[] { "--cluster", "127.0.0.1:11111", "--cluster-timeout", "0" }, "--cluster-timeout must be positive")]
    public void BadClusterOptionsAreUsageErrors(string[] extra, string message, bool eigenPro3 = true)
    {
        var (code, _, stderr) = CliRunner.Run(eigenPro3 ? [.. Train, .. extra] : [.. Data, "--epochs", "1", .. extra]);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void AClusterThatDoesNotAnswerIsAnErrorWithinTheTimeout()
    {
        var clock = Stopwatch.StartNew();
        var (code, _, stderr) = CliRunner.Run([.. Train, "--cluster", "127.0.0.1:9", "--cluster-timeout", "2"]);
        Assert.Equal(1, code);
        Assert.Contains("No EigenProNet silo answered at 127.0.0.1:9 (gateway 10) within 2 s", stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        (code, _, stderr) = CliRunner.Run("cluster", "status", "--cluster", "127.0.0.1:9", "--cluster-timeout", "2");
        Assert.Equal(1, code);
        Assert.Contains("No EigenProNet silo answered", stderr);
    }

    [Theory]
    [InlineData(new[] { "cluster", "silo", "--port", "0" }, "--port must be in 1…65534")]
    [InlineData(new[] { "cluster", "silo", "--port", "11111", "--host", "here" }, "--host: expected an IP address")]
    [InlineData(new[] { "cluster", "silo", "--port", "11111", "--seed-node", "a:1,b:2" }, "--seed-node")]
    public void BadSiloOptionsAreUsageErrors(string[] args, string message)
    {
        var (code, _, stderr) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void ShardKeysAndAddressesParse()
    {
        Assert.Equal(new ShardKey("run/with/slashes", 3), ShardKey.Parse("run/with/slashes/3"));
        Assert.Throws<ArgumentException>(() => ShardKey.Parse("run"));
        var endpoints = ClusterConnection.ParseAddresses("127.0.0.1:11111, 127.0.0.1:11121");
        Assert.Equal([11111, 11121], endpoints.Select(e => e.Port));
    }
}
