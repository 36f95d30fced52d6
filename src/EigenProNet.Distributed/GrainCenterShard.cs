using EigenProNet.LinearAlgebra;
using EigenProNet.Sharding;
using Orleans.Runtime;

namespace EigenProNet.Distributed;

/// <summary>
/// The coordinator's side of a shard grain: <see cref="ICenterShard"/> over <see cref="ICenterShardGrain"/>. Once
/// <see cref="DescribeAsync"/> has named the shard's silo, every request fails as soon as <paramref name="watch"/>
/// sees that silo leave the cluster, instead of at the request timeout.
/// </summary>
internal sealed class GrainCenterShard(ICenterShardGrain grain, SiloWatch? watch) : ICenterShard
{
    private byte[]? _batch;   // the forward pass's request bytes, reused: the coordinator awaits each reply before the next batch
    private string? _silo;    // where the shard's activation answered Describe (and holds the centers Load gives it)

    public async Task<ShardDescription> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var description = (await grain.Describe()).ToDescription();
        _silo = description.Host;
        return description;
    }

    public Task LoadAsync(ShardLoad load, CancellationToken cancellationToken = default) => Watched(grain.Load(ShardLoadMessage.From(load)));

    public Task SetWeightsAsync(string run, Matrix weights, CancellationToken cancellationToken = default) =>
        Watched(grain.SetWeights(run, MatrixMessage.From(weights)));

    public async Task<Matrix> WeightsAsync(string run, CancellationToken cancellationToken = default) => (await Watched(grain.Weights(run))).ToMatrix();

    public async Task<Matrix> ForwardAsync(string run, Matrix x, CancellationToken cancellationToken = default) =>
        (await Watched(grain.Forward(run, MatrixMessage.From(x, ref _batch)))).ToMatrix();

    public Task BackwardAsync(string run, BackwardStep step, CancellationToken cancellationToken = default) =>
        Watched(grain.Backward(run, BackwardStepMessage.From(step)));

    public async Task<Matrix> RightHandSideAsync(string run, CancellationToken cancellationToken = default) =>
        (await Watched(grain.RightHandSide(run))).ToMatrix();

    public async Task<ProjectionReply> ProjectAsync(string run, ProjectionRequest request, CancellationToken cancellationToken = default) =>
        (await Watched(grain.Project(run, ProjectionRequestMessage.From(request)))).ToReply();

    public Task ApplyAsync(string run, float step, Matrix? theta, CancellationToken cancellationToken = default) =>
        Watched(grain.Apply(run, step, MatrixMessage.FromOptional(theta)));

    public Task<double> ComputeSecondsAsync(string run, CancellationToken cancellationToken = default) => Watched(grain.ComputeSeconds(run));

    private async Task<T> Watched<T>(Task<T> call)
    {
        await Watched((Task)call).ConfigureAwait(false);
        return await call.ConfigureAwait(false);
    }

    private async Task Watched(Task call)
    {
        if (watch is null || _silo is null)
        {
            await call.ConfigureAwait(false);
            return;
        }
        string silo = _silo;
        if (await Task.WhenAny(call, watch.WhenLeft(silo)).ConfigureAwait(false) != call)
        {
            // The abandoned request ends at its timeout; its failure is then nobody's to observe.
            _ = call.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new SiloUnavailableException($"its silo {silo} left the cluster");
        }
        await call.ConfigureAwait(false);
    }
}
