using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>
/// An EigenPro 3 kernel model under training, for data that arrives as a stream (the reference's
/// <c>KernelModel(n_classes, centers, kernel_fn, X=…)</c> with <c>fit_batch</c>; spec eigenpro.md §2): the centers
/// and their weights, the data preconditioner built once on a Nyström sample of the training distribution, and the
/// projection. Each <see cref="FitBatch"/> is one projected, preconditioned step of §2.4; <see cref="ToModel"/> gives
/// the <see cref="KernelModel"/> to save or serve. The data preconditioner's eigensystem is readable
/// (<see cref="EigenvectorsData"/>, <see cref="EigenvaluesData"/>) — what the dynamics study records.
/// </summary>
public sealed class EigenPro3Model
{
    private readonly KernelRows _z;
    private readonly NystromPreconditioner _data;
    private readonly EigenPro3.Step _step;
    private readonly Matrix _weights;
    private readonly ComputeContext _compute;
    private readonly MemoryBudget _budget;

    /// <summary>
    /// Builds the model: <paramref name="centers"/> (p × d), <paramref name="outputs"/> outputs (classes, one-hot), and the
    /// data preconditioner on <paramref name="dataSample"/> (s × d rows drawn from the training data, scaled like it;
    /// every row is used) with the options' level, projection and memory budget. Batches passed to
    /// <see cref="FitBatch"/> may have up to <paramref name="maxBatchSize"/> rows (default: the step rule's batch,
    /// int(β/λ_tail), capped by the budget).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, NaN/Inf, or options out of range (the argument is named).</exception>
    public EigenPro3Model(Kernel kernel, Matrix centers, int outputs, Matrix dataSample, EigenPro3Options? options = null, int? maxBatchSize = null)
    {
        Kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        ArgumentNullException.ThrowIfNull(centers);
        ArgumentNullException.ThrowIfNull(dataSample);
        var o = (options ?? new EigenPro3Options()) with { Centers = centers, DataSubsampleSize = dataSample.Rows, DataSubsampleIndices = null };
        if (o.Shards is not null)
            throw new ArgumentException("A streaming model keeps its centers in this process; shards are for EigenPro3.Fit.", nameof(options));
        var plan = new EigenPro3.ProjectEveryBatch(o);
        plan.CheckOptions();
        _budget = o.Budget ?? MemoryBudget.Default;
        _compute = o.Compute ?? ComputeContext.Default;
        var setup = CenterModelData.ForStreaming(kernel, centers, outputs, dataSample, o, plan.DataStepRule, _budget, _compute);
        _z = setup.Z;
        _data = setup.Data;
        int p = centers.Rows;
        // The trainer's plan: the step rule's batch capped by the budget, and the projection.
        var shares = setup.Shares(_budget, plan.LastingBytes(setup, centers.Columns, outputs));
        int memoryBatch = shares.Batch.RowsThatFit(plan.BytesPerRow(setup, centers.Columns, outputs), int.MaxValue / 2, 1, "an EigenPro 3 batch");
        MaxBatchSize = maxBatchSize ?? plan.Batch(setup, int.MaxValue, memoryBatch, []);
        if (MaxBatchSize < 1) throw new ArgumentException($"The batch size must be at least 1, found {MaxBatchSize}.", nameof(maxBatchSize));
        var projector = plan.Projector(setup, outputs, shares.Projection, _compute, default);
        Projection = projector.IsExact ? "exact" : "inexact";
        _step = new EigenPro3.Step(kernel, null, null, _z, _data, setup.LiftAtCenters, projector, MaxBatchSize, outputs, false, _compute);
        _weights = new Matrix(p, outputs);
        Centers = centers;
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>The centers Z (p × d).</summary>
    public Matrix Centers { get; }

    /// <summary>A copy of the current weights α (p × outputs).</summary>
    public Matrix Weights => _weights.Clone();

    /// <summary>Largest batch <see cref="FitBatch"/> accepts.</summary>
    public int MaxBatchSize { get; }

    /// <summary>"exact" or "inexact".</summary>
    public string Projection { get; }

    /// <summary>Batches fitted so far.</summary>
    public long BatchesFitted { get; private set; }

    /// <summary>The data preconditioner's eigenvectors: s × q, unit columns, rows in the order of the data sample.</summary>
    public Matrix EigenvectorsData => _data.Eigenvectors.Clone();

    /// <summary>Its eigenvalues of K(S, S)/s, descending (q of them, then the tail λ_q in <see cref="TailEigenvalueData"/>).</summary>
    public IReadOnlyList<double> EigenvaluesData => _data.Spectrum.Take(_data.Directions).ToArray();

    /// <summary>The eigenvalue the data preconditioner flattens down to.</summary>
    public double TailEigenvalueData => _data.TailEigenvalue;

    /// <summary>The rows of the data sample used (all of them, sorted).</summary>
    public IReadOnlyList<int> NystromIndices => _data.SubsampleIndices;

    /// <summary>
    /// One projected, preconditioned step on the batch <paramref name="x"/> (m × d, scaled like the training data) with
    /// targets <paramref name="y"/> (m × outputs), with the step rule's step for m rows.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, the batch is empty or larger than <see cref="MaxBatchSize"/>, or NaN/Inf.</exception>
    public void FitBatch(Matrix x, Matrix y, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rows < 1 || x.Rows > MaxBatchSize) throw new ArgumentException($"Expected 1 to {MaxBatchSize} rows, found {x.Rows}.", nameof(x));
        if (x.Columns != Centers.Columns) throw new ArgumentException($"Expected {Centers.Columns} features, found {x.Columns}.", nameof(x));
        Guard.Shape(y, x.Rows, _weights.Columns, nameof(y));
        Guard.AllFinite(y, nameof(y));
        var rows = Kernel.Prepare(x, nameof(x), _compute);
        _step.Run(rows, y, _weights, (float)_data.StepSize(x.Rows), cancellationToken);
        BatchesFitted++;
    }

    /// <summary>Outputs f(x) = K(x, Z)·α for the rows of <paramref name="x"/>.</summary>
    public Matrix Predict(Matrix x, CancellationToken cancellationToken = default) =>
        // A model over the live weights for this call only: no copy of the p × c weights per prediction.
        new KernelModel(Kernel, Centers, _z, _weights).Predict(x, _budget, cancellationToken, _compute);

    /// <summary>Accuracy of the current model's predicted classes of <paramref name="x"/> against <paramref name="labels"/>.</summary>
    public double Score(Matrix x, IReadOnlyList<int> labels, CancellationToken cancellationToken = default) =>
        Metrics.ScoreLabels(x, labels, rows => Predict(rows, cancellationToken));

    /// <summary>−MSE of the current model's outputs for <paramref name="x"/> against <paramref name="targets"/> — higher is better.</summary>
    public double Score(Matrix x, Matrix targets, CancellationToken cancellationToken = default) =>
        Metrics.ScoreTargets(x, targets, rows => Predict(rows, cancellationToken));

    /// <summary>The current model as a <see cref="KernelModel"/> (a snapshot: later batches do not change it).</summary>
    public KernelModel ToModel(int classCount = 0, IReadOnlyList<string>? classNames = null) =>
        new(Kernel, Centers, _z, _weights.Clone(), classCount, classNames);
}
