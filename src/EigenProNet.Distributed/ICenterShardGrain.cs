namespace EigenProNet.Distributed;

/// <summary>
/// A shard of a center-sharded EigenPro 3 run as an Orleans grain (keyed "run/index"; placed by <see cref="ShardPlacementAttribute"/>):
/// the methods of <see cref="Sharding.ICenterShard"/> with their values in wire form.
/// </summary>
public interface ICenterShardGrain : IGrainWithStringKey
{
    Task<ShardDescriptionMessage> Describe();
    Task Load(ShardLoadMessage load);
    Task SetWeights(string run, MatrixMessage weights);
    Task<MatrixMessage> Weights(string run);
    Task<MatrixMessage> Forward(string run, MatrixMessage x);
    Task Backward(string run, BackwardStepMessage step);
    Task<MatrixMessage> RightHandSide(string run);
    Task<ProjectionReplyMessage> Project(string run, ProjectionRequestMessage request);
    Task Apply(string run, float step, MatrixMessage? theta);
    Task<double> ComputeSeconds(string run);
}
