using EigenProNet.LinearAlgebra;

namespace EigenProNet.Sharding;

/// <summary>
/// The shards an EigenPro 3 run spreads its centers over (<c>EigenPro3Options.Shards</c>): the centers are cut into
/// contiguous slices, one per shard in this order, and the run's weights are those of the single-process solver up to
/// float32 summation order (docs/distributed.md). <see cref="Traffic"/> counts what the run sent and received.
/// </summary>
public sealed class CenterShards
{
    /// <summary>Shards reached through <paramref name="shards"/>, for the run named <paramref name="run"/> (default: a fresh id).</summary>
    /// <exception cref="ArgumentException">No shards, or a null one.</exception>
    public CenterShards(IReadOnlyList<ICenterShard> shards, string? run = null)
    {
        ArgumentNullException.ThrowIfNull(shards);
        if (shards.Count < 1) throw new ArgumentException("Expected at least one shard.", nameof(shards));
        if (shards.Any(s => s is null)) throw new ArgumentException("A shard is null.", nameof(shards));
        Shards = shards;
        Run = string.IsNullOrEmpty(run) ? Guid.NewGuid().ToString("N") : run;
    }

    /// <summary><paramref name="count"/> shards in this process (each with its own budget share and the given compute).</summary>
    public static CenterShards InProcess(int count, MemoryBudget? budget = null, ComputeContext? compute = null)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Expected at least one shard.");
        return new CenterShards(Enumerable.Range(0, count).Select(_ => (ICenterShard)new LocalCenterShard(budget, compute)).ToArray());
    }

    /// <summary>The shards, in the order of the slices they own.</summary>
    public IReadOnlyList<ICenterShard> Shards { get; }

    /// <summary>The run's name: every request carries it, and a shard loaded for another run refuses the request.</summary>
    public string Run { get; }

    /// <summary>What the coordinator sent and received, and where the time went.</summary>
    public ShardTraffic Traffic { get; } = new();
}

/// <summary>
/// Counters of a sharded run's training, kept by the coordinator: payload bytes (the matrices and indices of the
/// requests and replies, summed over the shards), training batches, the exchanges' round trips (first request to last
/// reply), the seconds the coordinator waited (the round trips less what it computed meanwhile) and — read at each
/// epoch's end — the slowest shard's compute seconds. Communication is the round trips' time the slowest shard's
/// computing does not explain. Loading the shards is counted apart (<see cref="LoadBytes"/>, <see cref="LoadSeconds"/>).
/// </summary>
public sealed class ShardTraffic
{
    /// <summary>Bytes of the shards' loads (their centers and lifts).</summary>
    public long LoadBytes { get; internal set; }

    /// <summary>Seconds the loads took.</summary>
    public double LoadSeconds { get; internal set; }

    /// <summary>Payload bytes sent to the shards.</summary>
    public long BytesSent { get; internal set; }

    /// <summary>Payload bytes received from the shards.</summary>
    public long BytesReceived { get; internal set; }

    /// <summary>Training batches stepped.</summary>
    public long Batches { get; internal set; }

    /// <summary>Requests sent to each shard.</summary>
    public long Exchanges { get; internal set; }

    /// <summary>Seconds the coordinator waited for replies (after what it computed while the shards did).</summary>
    public double WaitSeconds { get; internal set; }

    /// <summary>Seconds from the first request to the last reply of each exchange, summed.</summary>
    public double RoundTripSeconds { get; internal set; }

    /// <summary>The largest compute seconds of a shard (at the last epoch's end).</summary>
    public double SlowestShardComputeSeconds { get; internal set; }

    /// <summary>Payload bytes per training batch, both ways.</summary>
    public double BytesPerBatch => Batches == 0 ? 0 : (BytesSent + BytesReceived) / (double)Batches;

    /// <summary>The round trips' seconds beyond the slowest shard's computing: the transport's share (serialisation, network, scheduling).</summary>
    public double CommunicationSeconds => Math.Max(0, RoundTripSeconds - SlowestShardComputeSeconds);
}

/// <summary>A shard failed (its process died, its machine left the cluster, or it refused a request): the run stops.</summary>
public sealed class ShardFailedException(string message, int shard, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The index of the shard that failed.</summary>
    public int Shard { get; } = shard;
}
