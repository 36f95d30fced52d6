using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>
/// A solver of a model on p centers decoupled from the training data (spec eigenpro.md §2, §3): EigenPro 3 and 4.
/// One trainer runs them both — validate → set up the centers and the data preconditioner → plan the batch in the
/// memory budget → report the settings → the epoch loop — and each version supplies only its step strategy
/// (a projection every batch, or delayed projections).
/// </summary>
public abstract class CenterModelSolver : IKernelSolver
{
    private protected CenterModelSolver(Kernel kernel, string name)
    {
        Kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        _name = name;
    }

    private readonly string _name;

    /// <summary>EigenPro 3 for <see cref="EigenPro3Options"/>, EigenPro 4 for <see cref="EigenPro4Options"/>.</summary>
    public static CenterModelSolver Create(Kernel kernel, CenterModelOptions options) => options switch
    {
        EigenPro3Options three => new EigenPro3(kernel, three),
        EigenPro4Options four => new EigenPro4(kernel, four),
        null => throw new ArgumentNullException(nameof(options)),
        _ => throw new ArgumentException($"No center-model solver takes {options.GetType().Name}.", nameof(options)),
    };

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>The options the shared trainer reads.</summary>
    private protected abstract CenterModelOptions CenterOptions { get; }

    /// <summary>The version's step strategy for one run.</summary>
    private protected abstract CenterStepStrategy Strategy();

    /// <summary>Trains on scaled features <paramref name="x"/> (n × d) and targets <paramref name="y"/> (n × c).</summary>
    /// <exception cref="ArgumentException">Empty data, mismatched shapes, NaN/Inf, or options out of range (the argument is named).</exception>
    /// <exception cref="MemoryBudgetExceededException">One batch, the preconditioners or the projection do not fit the budget.</exception>
    public TrainingResult Fit(Matrix x, Matrix y, Matrix? validationX = null, Matrix? validationY = null, int classCount = 0,
        IProgress<TrainingProgress>? progress = null, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        TrainingInput.Check(x, y, validationX, validationY, 2, _name);
        var compute = CenterOptions.Compute ?? ComputeContext.Default;
        return Fit(TrainingRows.InMemory(Kernel.Prepare(x, nameof(x), compute)), y, validationX, validationY, classCount, progress, observer, cancellationToken);
    }

    /// <summary>
    /// Trains on rows read a batch at a time from <paramref name="x"/> (e.g. a memory-mapped <see cref="NpyRows"/>: n·d may
    /// exceed one array and RAM) with targets <paramref name="y"/> (n × c, in memory). Only the centers, the data Nyström
    /// sample, the evaluation rows and one batch are held; same seed and rows give the same model as the in-memory Fit.
    /// </summary>
    /// <exception cref="ArgumentException">Bad shapes, a non-finite value in a row read (names the row), or options out of range.</exception>
    public TrainingResult Fit(IRowSource x, Matrix y, Matrix? validationX = null, Matrix? validationY = null, int classCount = 0,
        IProgress<TrainingProgress>? progress = null, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        TrainingInput.Check(x, y, validationX, validationY, 2, _name);
        return Fit(TrainingRows.Streamed(x, Kernel), y, validationX, validationY, classCount, progress, observer, cancellationToken);
    }

    private TrainingResult Fit(TrainingRows x, Matrix y, Matrix? validationX, Matrix? validationY, int classCount,
        IProgress<TrainingProgress>? progress, ITrainingObserver? observer, CancellationToken cancellationToken)
    {
        var o = CenterOptions;
        var strategy = Strategy();
        int n = x.Count, c = y.Columns;
        if (o.Epochs < 1) throw new ArgumentException($"Epochs must be at least 1, found {o.Epochs}.", "Options");
        strategy.CheckOptions();
        var budget = o.Budget ?? MemoryBudget.Default;
        var compute = o.Compute ?? ComputeContext.Default;
        var clock = Stopwatch.StartNew();
        progress?.Report(new TrainingProgress("setup", 0, o.Epochs, 0, 0, 0, TimeSpan.Zero));
        var warnings = new List<string>();

        // The centers and the data preconditioner (§2.3, §3.5): s_x random training rows, q_x directions, α = 1.
        var data = CenterModelData.Build(Kernel, x, o, strategy.DataStepRule, warnings, budget, compute, observer, cancellationToken);

        // The budget left after the setup, shared by the buffers alive together: the batch's, the projection's, the evaluation's.
        var shares = data.Shares(budget, strategy.LastingBytes(data, x.Dimension, c));

        // The batch: the version's rule, capped by n and by what one batch's buffers may hold in their share.
        long bytesPerRow = strategy.BytesPerRow(data, x.Dimension, c);
        int memoryBatch = shares.Batch.RowsThatFit(bytesPerRow, n, 1, $"an {_name} batch");
        int batch = strategy.Batch(data, n, memoryBatch, warnings);
        if (batch < 1 || batch > n) throw new ArgumentException($"The batch size must be in [1, n = {n}], found {batch}.", "Options");
        strategy.CheckBatch(data, batch, x.Dimension, c, shares.Batch);
        double step = data.Data.StepSize(batch);

        var projection = strategy.Projector(data, c, shares.Projection, compute, cancellationToken);
        MemoryBudget.ReleaseBetweenPhases();   // the projection's own Nyström build, before the batch buffers
        var settings = strategy.Settings(data, n, batch, step, memoryBatch, projection, warnings, clock.Elapsed.TotalSeconds, o.Seed);

        var run = strategy.Start(data, y, projection, batch, c, step, compute, cancellationToken);
        var model = new KernelModel(Kernel, data.Centers, run.Weights, classCount);
        var evaluation = new Evaluation(Kernel, data.Points, y, validationX, validationY, o.TrainEvaluationRows, classCount > 0, o.Seed, shares.Evaluation, compute);
        var reports = EpochLoop.Run(o.Epochs, n, batch, o.Seed, model, run.Weights, step, evaluation,
            (ids, _, batchIndex, batchCount) => run.Step(ids, batchIndex, batchCount),
            progress, observer, cancellationToken, resume: o.ResumeFrom, replayBatch: run.Replay, evaluateEveryEpoch: o.EvaluateEveryEpoch,
            endOfEpoch: run.Synchronize);
        return new TrainingResult(model, reports, settings);
    }
}

/// <summary>
/// What distinguishes one center-model version from another in <see cref="CenterModelSolver"/>'s trainer; the streaming
/// models (<see cref="EigenPro3Model"/>, <see cref="EigenPro4Model"/>) plan their batch and projection with it too.
/// </summary>
internal abstract class CenterStepStrategy
{
    /// <summary>The data preconditioner's step rule.</summary>
    public abstract StepRule DataStepRule { get; }

    /// <summary>Checks the version's own options (naming "Options").</summary>
    public virtual void CheckOptions() { }

    /// <summary>Bytes one batch row holds in the step's buffers (what the memory budget bounds the batch by).</summary>
    public abstract long BytesPerRow(CenterModelData data, int dimension, int outputs);

    /// <summary>The batch size: the one asked for, or the version's rule capped by n and <paramref name="memoryBatch"/> (caps noted in <paramref name="warnings"/>).</summary>
    public abstract int Batch(CenterModelData data, int n, int memoryBatch, List<string> warnings);

    /// <summary>Bytes the version holds for the whole run beyond the shared setup (EigenPro 4: its temporary centers).</summary>
    public virtual long LastingBytes(CenterModelData data, int dimension, int outputs) => 0;

    /// <summary>Checks what the batch implies beyond its range (EigenPro 4: room for its temporary centers); errors name <paramref name="argument"/>.</summary>
    public virtual void CheckBatch(CenterModelData data, int batch, int dimension, int outputs, MemoryBudget budget, string argument = "Options") { }

    /// <summary>The projection onto the centers' span.</summary>
    public abstract CenterProjection Projector(CenterModelData data, int outputs, MemoryBudget budget, ComputeContext compute, CancellationToken ct);

    /// <summary>The version's settings record: what <see cref="CenterModelData.Settings{T}"/> fills, and what only this version adds.</summary>
    public abstract CenterModelSettings Settings(CenterModelData data, int n, int batch, double step, int memoryBatch, CenterProjection projection,
        IReadOnlyList<string> warnings, double setupSeconds, int seed);

    /// <summary>The training state: the centers' weights and the step on each batch.</summary>
    public abstract CenterRun Start(CenterModelData data, Matrix y, CenterProjection projection, int batch, int outputs, double step,
        ComputeContext compute, CancellationToken ct);
}

/// <summary>A center model under training: its weights α and the version's step.</summary>
internal abstract class CenterRun
{
    /// <summary>α on the centers (the model's weights).</summary>
    public abstract Matrix Weights { get; }

    /// <summary>One step on the training rows <paramref name="ids"/>; true when the model is K(x, Z)·α afterwards (observers then see it).</summary>
    public abstract bool Step(ReadOnlySpan<int> ids, int batchIndex, int batchCount);

    /// <summary>Draws what the step on a batch of an epoch already done would draw (resuming).</summary>
    public abstract void Replay(int batchIndex, int batchCount);

    /// <summary>Makes <see cref="Weights"/> current at an epoch's end when they live elsewhere during it (sharded runs).</summary>
    public virtual void Synchronize() { }
}
