using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>
/// An EigenPro 4 kernel model under training, for data that arrives as a stream (spec eigenpro.md §3): the centers
/// and their weights, the data preconditioner built once on a Nyström sample of the training distribution, the
/// temporary centers each batch adds, and the delayed projection. Each <see cref="FitBatch"/> is one step of §3.6;
/// every <see cref="ProjectionInterval"/> batches (§3.7) — and whenever the next batch would not fit the temporary
/// centers — the temporary part is projected onto the centers. <see cref="ToModel"/> projects what is pending first,
/// as the end of an epoch does, and gives the <see cref="KernelModel"/> to save or serve.
/// </summary>
public sealed class EigenPro4Model
{
    private readonly KernelRows _z;
    private readonly NystromPreconditioner _data;
    private readonly DelayedProjectionState _state;
    private readonly ComputeContext _compute;
    private readonly MemoryBudget _budget;

    /// <summary>
    /// Builds the model: <paramref name="centers"/> (p × d), <paramref name="outputs"/> outputs (classes, one-hot), and the
    /// data preconditioner on <paramref name="dataSample"/> (s × d rows drawn from the training data, scaled like it;
    /// every row is used) with the options' level, projection, temporary-centers coefficient and memory budget. Batches
    /// passed to <see cref="FitBatch"/> may have up to <paramref name="maxBatchSize"/> rows (default: the step rule's
    /// min(10 000, m*), capped by the temporary centers and the budget).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, NaN/Inf, options out of range, or p too small for one batch of temporary centers.</exception>
    /// <exception cref="MemoryBudgetExceededException">The temporary centers or the preconditioners do not fit the budget.</exception>
    public EigenPro4Model(Kernel kernel, Matrix centers, int outputs, Matrix dataSample, EigenPro4Options? options = null, int? maxBatchSize = null)
    {
        Kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        ArgumentNullException.ThrowIfNull(centers);
        ArgumentNullException.ThrowIfNull(dataSample);
        var o = (options ?? new EigenPro4Options()) with { Centers = centers, DataSubsampleSize = dataSample.Rows, DataSubsampleIndices = null };
        if (o.Shards is not null)
            throw new ArgumentException("A streaming model keeps its centers in this process; shards are for EigenPro4.Fit.", nameof(options));
        var plan = new EigenPro4.DelayedProjections(o);
        plan.CheckOptions();
        _budget = o.Budget ?? MemoryBudget.Default;
        _compute = o.Compute ?? ComputeContext.Default;
        var setup = CenterModelData.ForStreaming(kernel, centers, outputs, dataSample, o, EigenPro4.StepRule, _budget, _compute);
        _z = setup.Z;
        _data = setup.Data;
        // The trainer's plan: the batch the step rule, the temporary centers and the budget allow, T, the projection.
        int d = centers.Columns;
        var shares = setup.Shares(_budget, plan.LastingBytes(setup, d, outputs));
        int memoryBatch = shares.Batch.RowsThatFit(plan.BytesPerRow(setup, d, outputs), int.MaxValue / 2, 1, "an EigenPro 4 batch");
        MaxBatchSize = maxBatchSize ?? plan.Batch(setup, int.MaxValue, memoryBatch, []);
        if (MaxBatchSize < 1) throw new ArgumentException($"The batch size must be at least 1, found {MaxBatchSize}.", nameof(maxBatchSize));
        plan.CheckBatch(setup, MaxBatchSize, d, outputs, shares.Batch, nameof(maxBatchSize));
        ProjectionInterval = plan.Interval;
        int capacity = plan.Capacity(setup);
        var projector = plan.Projector(setup, outputs, shares.Projection, _compute, default);
        Projection = projector.IsExact ? "exact" : "inexact";
        _state = new DelayedProjectionState(kernel, null, null, _z, _data, setup.LiftAtCenters, projector, capacity, MaxBatchSize, outputs, false, _compute);
        Centers = centers;
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>The centers Z (p × d).</summary>
    public Matrix Centers { get; }

    /// <summary>A copy of the weights α on the centers (the whole model only when <see cref="PendingTemporaryCenters"/> is 0).</summary>
    public Matrix Weights => _state.Alpha.Clone();

    /// <summary>Largest batch <see cref="FitBatch"/> accepts.</summary>
    public int MaxBatchSize { get; }

    /// <summary>T: batches between projections (§3.7), from the temporary centers' room and <see cref="MaxBatchSize"/>.</summary>
    public int ProjectionInterval { get; }

    /// <summary>"exact" or "inexact".</summary>
    public string Projection { get; }

    /// <summary>Batches fitted so far.</summary>
    public long BatchesFitted { get; private set; }

    /// <summary>Temporary centers not yet projected onto the centers.</summary>
    public int PendingTemporaryCenters => _state.TemporaryCount;

    /// <summary>The data preconditioner's eigenvectors: s × q, unit columns, rows in the order of the data sample.</summary>
    public Matrix EigenvectorsData => _data.Eigenvectors.Clone();

    /// <summary>Its eigenvalues of K(S, S)/s, descending (q of them; the tail in <see cref="TailEigenvalueData"/>).</summary>
    public IReadOnlyList<double> EigenvaluesData => _data.Spectrum.Take(_data.Directions).ToArray();

    /// <summary>The eigenvalue the data preconditioner flattens down to.</summary>
    public double TailEigenvalueData => _data.TailEigenvalue;

    /// <summary>
    /// One step of §3.6 on the batch <paramref name="x"/> (m × d, scaled like the training data) with targets
    /// <paramref name="y"/> (m × outputs) and the step rule's step for m rows; projects before it when the batch would
    /// overflow the temporary centers, and after it every <see cref="ProjectionInterval"/> batches.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, the batch is empty or larger than <see cref="MaxBatchSize"/>, or NaN/Inf.</exception>
    public void FitBatch(Matrix x, Matrix y, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rows < 1 || x.Rows > MaxBatchSize) throw new ArgumentException($"Expected 1 to {MaxBatchSize} rows, found {x.Rows}.", nameof(x));
        if (x.Columns != Centers.Columns) throw new ArgumentException($"Expected {Centers.Columns} features, found {x.Columns}.", nameof(x));
        Guard.Shape(y, x.Rows, _state.Alpha.Columns, nameof(y));
        Guard.AllFinite(y, nameof(y));
        var rows = Kernel.Prepare(x, nameof(x), _compute);
        if (_state.TemporaryCount + x.Rows > _state.Capacity) _state.Project(cancellationToken);
        _state.Step(rows, y, (float)_data.StepSize(x.Rows), cancellationToken);
        BatchesFitted++;
        if (BatchesFitted % ProjectionInterval == 0) _state.Project(cancellationToken);
    }

    /// <summary>Projects the pending temporary centers onto the centers (§3.7), as the end of an epoch does; nothing if none are pending.</summary>
    public void Project(CancellationToken cancellationToken = default)
    {
        if (!_state.IsProjected) _state.Project(cancellationToken);
    }

    /// <summary>
    /// Outputs f(x) of the model as it trains — K(x, Z)·α plus the pending temporary centers' and the Nyström sample's
    /// terms — for the rows of <paramref name="x"/>. Nothing is projected: predicting does not change what later batches
    /// do (<see cref="ToModel"/> projects, as the end of an epoch does).
    /// </summary>
    public Matrix Predict(Matrix x, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != Centers.Columns) throw new ArgumentException($"Expected {Centers.Columns} features, found {x.Columns}.", nameof(x));
        return _state.Predict(Kernel.Prepare(x, nameof(x), _compute), cancellationToken);
    }

    /// <summary>Accuracy of the current model's predicted classes of <paramref name="x"/> against <paramref name="labels"/>.</summary>
    public double Score(Matrix x, IReadOnlyList<int> labels, CancellationToken cancellationToken = default) =>
        Metrics.ScoreLabels(x, labels, rows => Predict(rows, cancellationToken));

    /// <summary>−MSE of the current model's outputs for <paramref name="x"/> against <paramref name="targets"/> — higher is better.</summary>
    public double Score(Matrix x, Matrix targets, CancellationToken cancellationToken = default) =>
        Metrics.ScoreTargets(x, targets, rows => Predict(rows, cancellationToken));

    /// <summary>The model as a <see cref="KernelModel"/>, after projecting what is pending (a snapshot: later batches do not change it).</summary>
    public KernelModel ToModel(int classCount = 0, IReadOnlyList<string>? classNames = null)
    {
        Project();
        return new(Kernel, Centers, _z, _state.Alpha.Clone(), classCount, classNames);
    }
}
