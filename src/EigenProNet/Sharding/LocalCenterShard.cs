using EigenProNet.LinearAlgebra;

namespace EigenProNet.Sharding;

/// <summary>
/// A shard in this process: <see cref="CenterShard"/> behind the <see cref="ICenterShard"/> protocol with no copies
/// (requests run synchronously on the caller's thread). What the tests compare the remote transports against, and
/// a way to cut one machine's K(X_B, Z) into blocks of shards.
/// </summary>
public sealed class LocalCenterShard(MemoryBudget? budget = null, ComputeContext? compute = null) : ICenterShard
{
    private readonly ComputeContext _compute = compute ?? ComputeContext.Default;
    private CenterShard? _shard;

    /// <summary>Describes this process.</summary>
    public Task<ShardDescription> DescribeAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new ShardDescription(ShardDescription.CurrentVersion, _compute.Threads, _compute.Path.ToString(), Environment.MachineName));

    /// <inheritdoc/>
    public Task LoadAsync(ShardLoad load, CancellationToken cancellationToken = default)
    {
        _shard = null;   // the old slice's memory is free before the new one is held
        _shard = new CenterShard(load, budget, _compute);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task SetWeightsAsync(string run, Matrix weights, CancellationToken cancellationToken = default)
    {
        For(run).SetWeights(weights);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<Matrix> WeightsAsync(string run, CancellationToken cancellationToken = default) => Task.FromResult(For(run).Weights.Clone());

    /// <inheritdoc/>
    public Task<Matrix> ForwardAsync(string run, Matrix x, CancellationToken cancellationToken = default) => Task.FromResult(For(run).Forward(x));

    /// <inheritdoc/>
    public Task BackwardAsync(string run, BackwardStep step, CancellationToken cancellationToken = default)
    {
        For(run).Backward(step);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<Matrix> RightHandSideAsync(string run, CancellationToken cancellationToken = default) => Task.FromResult(For(run).RightHandSide.Clone());

    /// <inheritdoc/>
    public Task<ProjectionReply> ProjectAsync(string run, ProjectionRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(For(run).Project(request));

    /// <inheritdoc/>
    public Task ApplyAsync(string run, float step, Matrix? theta, CancellationToken cancellationToken = default)
    {
        For(run).Apply(step, theta?.View);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<double> ComputeSecondsAsync(string run, CancellationToken cancellationToken = default) => Task.FromResult(For(run).ComputeSeconds);

    private CenterShard For(string run) => CenterShardRuns.Check(_shard, run);
}

/// <summary>The check every transport makes before a request: the shard holds a slice, and of the request's run.</summary>
public static class CenterShardRuns
{
    /// <summary>Returns <paramref name="shard"/> when it holds run <paramref name="run"/>.</summary>
    /// <exception cref="InvalidOperationException">It holds nothing (never loaded, or restarted since) or another run.</exception>
    public static CenterShard Check(CenterShard? shard, string run)
    {
        if (shard is null) throw new InvalidOperationException($"This shard holds no centers (never loaded, or restarted since): reload it for run {run}.");
        if (!string.Equals(shard.Load.Run, run, StringComparison.Ordinal))
            throw new InvalidOperationException($"This shard holds run {shard.Load.Run}, the request is for run {run}: reload it.");
        return shard;
    }
}
