using EigenProNet.LinearAlgebra;
using EigenProNet.Sharding;

namespace EigenProNet.Distributed;

/// <summary>The coordinator's side of a shard grain: <see cref="ICenterShard"/> over <see cref="ICenterShardGrain"/>.</summary>
internal sealed class GrainCenterShard(ICenterShardGrain grain) : ICenterShard
{
    private byte[]? _batch;   // the forward pass's request bytes, reused: the coordinator awaits each reply before the next batch

    public async Task<ShardDescription> DescribeAsync(CancellationToken cancellationToken = default) => (await grain.Describe()).ToDescription();

    public Task LoadAsync(ShardLoad load, CancellationToken cancellationToken = default) => grain.Load(ShardLoadMessage.From(load));

    public Task SetWeightsAsync(string run, Matrix weights, CancellationToken cancellationToken = default) => grain.SetWeights(run, MatrixMessage.From(weights));

    public async Task<Matrix> WeightsAsync(string run, CancellationToken cancellationToken = default) => (await grain.Weights(run)).ToMatrix();

    public async Task<Matrix> ForwardAsync(string run, Matrix x, CancellationToken cancellationToken = default) =>
        (await grain.Forward(run, MatrixMessage.From(x, ref _batch))).ToMatrix();

    public Task BackwardAsync(string run, BackwardStep step, CancellationToken cancellationToken = default) =>
        grain.Backward(run, BackwardStepMessage.From(step));

    public async Task<Matrix> RightHandSideAsync(string run, CancellationToken cancellationToken = default) => (await grain.RightHandSide(run)).ToMatrix();

    public async Task<ProjectionReply> ProjectAsync(string run, ProjectionRequest request, CancellationToken cancellationToken = default) =>
        (await grain.Project(run, ProjectionRequestMessage.From(request))).ToReply();

    public Task ApplyAsync(string run, float step, Matrix? theta, CancellationToken cancellationToken = default) =>
        grain.Apply(run, step, MatrixMessage.FromOptional(theta));

    public Task<double> ComputeSecondsAsync(string run, CancellationToken cancellationToken = default) => grain.ComputeSeconds(run);
}
