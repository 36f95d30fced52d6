using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Sharding;

/// <summary>
/// One shard of a center-sharded EigenPro 3 run (docs/distributed.md): it owns a contiguous slice Z_s of the centers
/// with its weights α_s, the data preconditioner's lift at those centers and the projection's θ_s, and computes what
/// touches them. The coordinator (<see cref="CenterShards"/> given to the solver as <c>Shards</c>) sends each batch
/// once to every shard, sums the partial predictions and sends back the residual. Implementations are transports:
/// <see cref="LocalCenterShard"/> in this process, EigenProNet.Distributed's Orleans grains across machines; the
/// numerics are <see cref="CenterShard"/>'s in both.
/// </summary>
public interface ICenterShard
{
    /// <summary>The code and machine the shard runs on; a coordinator refuses shards of another version.</summary>
    Task<ShardDescription> DescribeAsync(CancellationToken cancellationToken = default);

    /// <summary>Loads the shard's slice for run <see cref="ShardLoad.Run"/> (weights zero); a reload replaces it.</summary>
    Task LoadAsync(ShardLoad load, CancellationToken cancellationToken = default);

    /// <summary>Sets α_s (a resumed run's, or the coordinator's after a reload).</summary>
    Task SetWeightsAsync(string run, Matrix weights, CancellationToken cancellationToken = default);

    /// <summary>α_s (p_s × c).</summary>
    Task<Matrix> WeightsAsync(string run, CancellationToken cancellationToken = default);

    /// <summary>K(X_B, Z_s)·α_s for the batch's raw features <paramref name="x"/> (b × d); K(X_B, Z_s) is kept for <see cref="BackwardAsync"/>.</summary>
    Task<Matrix> ForwardAsync(string run, Matrix x, CancellationToken cancellationToken = default);

    /// <summary>
    /// The right-hand side of the projection from the batch's residual G (see <see cref="BackwardStep"/>): EigenPro 3's
    /// h_s = K(Z_s, X_B)·G − lift_s·Uᵀ·K(S, X_B)·G, or EigenPro 4's accumulation with the batch's rows joining
    /// the shard's temporary centers.
    /// </summary>
    Task BackwardAsync(string run, BackwardStep step, CancellationToken cancellationToken = default);

    /// <summary>h_s (the exact projection solves K(Z, Z)·θ = h at the coordinator).</summary>
    Task<Matrix> RightHandSideAsync(string run, CancellationToken cancellationToken = default);

    /// <summary>One exchange of the inexact projection (EigenPro 2 over the centers): see <see cref="ProjectionRequest"/>.</summary>
    Task<ProjectionReply> ProjectAsync(string run, ProjectionRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends a projection: α_s −= <paramref name="step"/>·θ_s, with θ_s <paramref name="theta"/> when given (the exact
    /// projection's slice), else the shard's own; then h_s and the temporary centers are dropped.
    /// </summary>
    Task ApplyAsync(string run, float step, Matrix? theta, CancellationToken cancellationToken = default);

    /// <summary>Seconds the shard has computed for the run (kernel blocks and GEMMs), to tell computing from communicating.</summary>
    Task<double> ComputeSecondsAsync(string run, CancellationToken cancellationToken = default);
}

/// <summary>What a shard runs: the library's version (with the protocol's) and its threads and SIMD path.</summary>
public sealed record ShardDescription(string Version, int Threads, string SimdPath, string Host)
{
    /// <summary>This process's library version and protocol: what a coordinator requires of its shards.</summary>
    public static string CurrentVersion { get; } =
        $"{typeof(ICenterShard).Assembly.GetName().Version} protocol {CenterShard.ProtocolVersion}";
}

/// <summary>
/// What a shard does with a batch's residual G (b × c) and the data preconditioner's Uᵀ·K(S, X_B)·G (<paramref name="Projected"/>, q × c).
/// Without <paramref name="AccumulateStep"/> (EigenPro 3, spec eigenpro.md §2.4): h_s = K(Z_s, X_B)·G − lift_s·Projected.
/// With it, η (EigenPro 4, §3.6): h_s −= η·(K(Z_s, X_B)·G − lift_s·Projected), and rows [<paramref name="JoinFrom"/>,
/// JoinFrom + <paramref name="JoinCount"/>) of the batch join the shard's temporary centers with weights −η·G.
/// </summary>
public sealed record BackwardStep(Matrix Residual, Matrix Projected, float? AccumulateStep = null, int JoinFrom = 0, int JoinCount = 0);

/// <summary>
/// A shard's slice: rows [<paramref name="Offset"/>, Offset + Centers.Rows) of the p centers, the data preconditioner's lift
/// K(Z_s, S)·U·diag(r) at them (p_s × q), the kernel (with the Mahalanobis M when it has one), the outputs c, the largest
/// batch and projection batch, and (EigenPro 4) how many temporary centers the shard may hold between projections.
/// </summary>
public sealed record ShardLoad(string Run, int Index, int Offset, KernelSpec Kernel, Matrix? MahalanobisM, Matrix Centers, Matrix LiftAtCenters,
    int Outputs, int MaxBatch, int MaxProjectionBatch, int TemporaryCapacity = 0);

/// <summary>
/// One exchange of the sharded inexact projection: with <see cref="Begin"/> θ_s = 0 first (a new projection); then the previous batch's update (θ[B] −= η·G on the rows the shard
/// owns, then θ[S] += η·correction), then the next batch's partial product K(Z_B, Z_s)·θ_s and the owned rows of h at
/// B; with <see cref="ApplyStep"/> the update is followed by the projection's end, as <see cref="ICenterShard.ApplyAsync"/>.
/// Indices are global center indices.
/// </summary>
public sealed record ProjectionRequest(int[]? UpdateIds, Matrix? Residual, int[]? SubsampleIds, Matrix? Correction, float Step,
    int[]? NextIds, Matrix? NextPoints, float? ApplyStep, bool Begin = false);

/// <summary>K(Z_B, Z_s)·θ_s (b_z × c), and the rows of h for the ids of B the shard owns, in B's order.</summary>
public sealed record ProjectionReply(Matrix? Partial, Matrix? TargetRows);
