using EigenProNet.LinearAlgebra;
using EigenProNet.Sharding;

namespace EigenProNet.Distributed;

/// <summary>What a silo lends its shards: the working-memory budget of each shard and the threads and SIMD path.</summary>
public sealed record ShardHostSettings(MemoryBudget Budget, ComputeContext Compute);

/// <summary>
/// The grain of one shard: <see cref="CenterShard"/> in a silo. Its state is the slice it was loaded with, in memory
/// only — a silo that restarts comes back empty and the coordinator's next request is refused ("holds no centers"),
/// so a run never continues on a shard that lost its weights; <c>--resume</c> reloads every shard from the checkpoint.
/// Orleans runs one request of a grain at a time, as <see cref="CenterShard"/> requires.
/// </summary>
[ShardPlacement]
internal sealed class CenterShardGrain(ShardHostSettings settings) : Grain, ICenterShardGrain
{
    private CenterShard? _shard;
    private Matrix? _batch;   // the last forward pass's rows, reused for the next batch of the same size

    public Task<ShardDescriptionMessage> Describe() => Task.FromResult(new ShardDescriptionMessage(
        ShardDescription.CurrentVersion, settings.Compute.Threads, settings.Compute.Path.ToString(), RuntimeIdentity));

    public Task Load(ShardLoadMessage load)
    {
        _shard = null;   // the old slice is garbage before the new one is held
        _shard = new CenterShard(load.ToLoad(), settings.Budget, settings.Compute);
        return Task.CompletedTask;
    }

    public Task SetWeights(string run, MatrixMessage weights)
    {
        For(run).SetWeights(weights.ToMatrix());
        return Task.CompletedTask;
    }

    public Task<MatrixMessage> Weights(string run) => Task.FromResult(MatrixMessage.From(For(run).Weights.Clone()));

    public Task<MatrixMessage> Forward(string run, MatrixMessage x)
    {
        var shard = For(run);
        return Task.FromResult(MatrixMessage.From(shard.Forward(x.ToMatrix(ref _batch))));
    }

    public Task Backward(string run, BackwardStepMessage step)
    {
        For(run).Backward(step.ToStep());
        return Task.CompletedTask;
    }

    public Task<MatrixMessage> RightHandSide(string run) => Task.FromResult(MatrixMessage.From(For(run).RightHandSide.Clone()));

    public Task<ProjectionReplyMessage> Project(string run, ProjectionRequestMessage request) =>
        Task.FromResult(ProjectionReplyMessage.From(For(run).Project(request.ToRequest())));

    public Task Apply(string run, float step, MatrixMessage? theta)
    {
        For(run).Apply(step, theta?.ToMatrix().View);
        return Task.CompletedTask;
    }

    public Task<double> ComputeSeconds(string run) => Task.FromResult(For(run).ComputeSeconds);

    private CenterShard For(string run) => CenterShardRuns.Check(_shard, run);
}
