using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>What every iterative solver's options share: epochs, the per-epoch evaluation, the seed and the machine.</summary>
public abstract record SolverOptions
{
    /// <summary>Number of epochs.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>
    /// Evaluate after every epoch (default), or only after the last one — the result then holds that one report, and
    /// observers see no other epoch ends. RFM's inner solves need only the final score; early stopping evaluates
    /// every epoch regardless.
    /// </summary>
    public bool EvaluateEveryEpoch { get; init; } = true;

    /// <summary>Training rows evaluated after each epoch (a fixed random subset).</summary>
    public int TrainEvaluationRows { get; init; } = 5000;

    /// <summary>Seed of every random choice (samples, shuffles, the evaluation subset).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Working-memory budget: bounds batches and kernel blocks (default: a quarter of the available memory).</summary>
    public MemoryBudget? Budget { get; init; }

    /// <summary>Threads and SIMD path of every kernel product (default: all cores, widest path).</summary>
    public ComputeContext? Compute { get; init; }

    /// <summary>
    /// Continue a run from the weights it had after a completed epoch: the solver rebuilds everything else from the
    /// same seed and data, replays the random choices of the epochs already done, and trains epochs
    /// Epoch + 1 … <see cref="Epochs"/>, so the result is the one an uninterrupted run gives.
    /// </summary>
    public TrainingCheckpoint? ResumeFrom { get; init; }
}

/// <summary>The state of a run after a completed epoch: enough, with the same data and options, to resume it.</summary>
/// <param name="Epoch">The last completed epoch (1-based).</param>
/// <param name="Weights">The model's weights after it.</param>
public sealed record TrainingCheckpoint(int Epoch, Matrix Weights);

/// <summary>
/// What EigenPro 3 and 4 share: a model on p centers Z decoupled from the training data, a data preconditioner on a
/// Nyström sample of the training rows, and a projection onto the centers' span.
/// </summary>
public abstract record CenterModelOptions : SolverOptions
{
    /// <summary>The centers Z (p × d, scaled like the training data); null takes <see cref="CenterCount"/> random training rows.</summary>
    public Matrix? Centers { get; init; }

    /// <summary>Number p of random training rows taken as centers when <see cref="Centers"/> is null (drawn with the seed).</summary>
    public int CenterCount { get; init; } = 5000;

    /// <summary>Data Nyström sample s (EigenPro 3's reference default 5 000, EigenPro 4's 3 000); clamped to n with a warning.</summary>
    public int DataSubsampleSize { get; init; }

    /// <summary>
    /// The data Nyström sample as training-row indices (DataSubsampleSize of them) instead of a random draw: a recorder
    /// pins it so that every snapshot sees the same points.
    /// </summary>
    public IReadOnlyList<int>? DataSubsampleIndices { get; init; }

    /// <summary>Directions q the data preconditioner flattens (EigenPro 3's reference default 500, EigenPro 4's 150); clamped to s − 1.</summary>
    public int DataLevel { get; init; }

    /// <summary>
    /// β of the data step rule. EigenPro 3's default is the preconditioned kernel's diagonal (the SysML 2019 paper's β):
    /// with the NTK on CIFAR-10 the reference's max k(x, x) is 25 × larger, its batch int(β/λ_tail) exceeds n and an
    /// epoch becomes one small full-batch step (docs/benchmarks.md). EigenPro 4 keeps the reference's.
    /// </summary>
    public BetaEstimate Beta { get; init; }

    /// <summary>Projection onto the centers' span (Auto: exact when K(Z, Z) and its factor fit the budget).</summary>
    public ProjectionMode Projection { get; init; } = ProjectionMode.Auto;

    /// <summary>Batch size; null chooses the reference's rule, capped by n and the memory budget (and reported).</summary>
    public int? BatchSize { get; init; }

    /// <summary>
    /// Spread the centers over these shards (in this process or on a cluster, docs/distributed.md): the
    /// weights are the single-process run's up to float32 summation order; observers see epochs, not batches.
    /// </summary>
    public Sharding.CenterShards? Shards { get; init; }
}
