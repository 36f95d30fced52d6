using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>
/// One preconditioned SGD step of EigenPro on a set of points X whose weights α it updates (spec eigenpro.md §1.8):
/// G = K(X_B, X)·α − Y_B;  α[B] −= η·G;  α[S] += η·U·diag(r)·Uᵀ·K(S, X_B)·G, with S the preconditioner's subsample
/// of X (scatter-add: an index may be in both). EigenPro 2 runs it over the training data; EigenPro 3 and 4 run it
/// over their centers to project onto their span. Buffers for the largest batch are allocated once. The iteration
/// owns a set of weights (<see cref="Weights"/>) that it keeps in the transposed layout of the fused product K·α as it
/// updates them — two rows sets per step instead of a transposition of all n × c per batch; weights held elsewhere
/// can be stepped too (transposed per call).
/// </summary>
public sealed class EigenProIteration
{
    private readonly KernelRowsBuffer _batch;
    private readonly Matrix _residual, _batchBySubsample, _projected, _scaled, _scratch, _correction;
    private readonly MemoryBudget _budget;
    private readonly ComputeContext _compute;
    private readonly float[] _weightsT;
    private bool _mirrored;   // _weightsT holds Weights transposed; false until the next step after a (re)set

    /// <summary>Prepares the step for batches of up to <paramref name="batchSize"/> rows of <paramref name="points"/> and <paramref name="outputs"/> targets.</summary>
    /// <param name="points">The points X (prepared for the preconditioner's kernel).</param>
    /// <param name="preconditioner">Built on <paramref name="points"/>: its subsample indices index them.</param>
    /// <param name="outputs">Columns c of the weights and targets.</param>
    /// <param name="batchSize">Largest batch.</param>
    /// <param name="stepSize">η per sample (the reference's η/b).</param>
    /// <param name="budget">Bounds the kernel blocks of K(X_B, X).</param>
    /// <param name="compute">Threads and SIMD path.</param>
    /// <exception cref="ArgumentException">The preconditioner was built for another kernel, or a size is out of range.</exception>
    public EigenProIteration(KernelRows points, NystromPreconditioner preconditioner, int outputs, int batchSize, double stepSize,
        MemoryBudget? budget = null, ComputeContext? compute = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(preconditioner);
        if (!ReferenceEquals(points.Kernel, preconditioner.Kernel))
            throw new ArgumentException($"The preconditioner was built for {preconditioner.Kernel}, the points for {points.Kernel}.", nameof(preconditioner));
        if (preconditioner.SubsampleIndices.Count > 0 && preconditioner.SubsampleIndices[^1] >= points.Count)
            throw new ArgumentException($"The preconditioner's subsample indexes {preconditioner.SubsampleIndices[^1] + 1} points, these are {points.Count}.", nameof(preconditioner));
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Expected at least one output.");
        if (batchSize < 1 || batchSize > points.Count)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"Expected a batch size in [1, {points.Count}].");
        if (!(stepSize > 0) || !double.IsFinite(stepSize))
            throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "Expected a positive, finite step size.");
        Points = points;
        Preconditioner = preconditioner;
        BatchSize = batchSize;
        StepSize = stepSize;
        _budget = budget ?? MemoryBudget.Default;
        _compute = compute ?? ComputeContext.Default;
        int s = preconditioner.SubsampleSize;
        _batch = new KernelRowsBuffer(batchSize, points.Dimension);
        _residual = new Matrix(batchSize, outputs);
        _batchBySubsample = new Matrix(batchSize, s);
        _projected = new Matrix(preconditioner.Directions, outputs);
        _scaled = new Matrix(preconditioner.Directions, outputs);
        _scratch = new Matrix(s, outputs);
        _correction = new Matrix(s, outputs);
        Weights = new Matrix(points.Count, outputs);
        _weightsT = new float[(long)points.Count * outputs];
    }

    /// <summary>
    /// The weights α (n × c) the iteration owns and <see cref="Step(ReadOnlySpan{int}, MatrixView, CancellationToken)"/>
    /// updates, zero at first. They may be written directly after construction, <see cref="SetWeights"/> or
    /// <see cref="ClearWeights"/> until the next step, which then transposes them once; the steps after it keep the
    /// transposed copy by the rows they change, so a direct write between two steps would not be seen.
    /// </summary>
    public Matrix Weights { get; }

    /// <summary>Replaces the owned weights by <paramref name="weights"/> (n × c).</summary>
    public void SetWeights(MatrixView weights)
    {
        Guard.Shape(weights, Weights.Rows, Weights.Columns, nameof(weights));
        weights.CopyTo(Weights);
        _mirrored = false;
    }

    /// <summary>Sets the owned weights to zero.</summary>
    public void ClearWeights()
    {
        Weights.AsSpan().Clear();
        _mirrored = false;
    }

    /// <summary>The points whose weights the step updates.</summary>
    public KernelRows Points { get; }

    /// <summary>The preconditioner (its subsample is part of the points).</summary>
    public NystromPreconditioner Preconditioner { get; }

    /// <summary>Largest batch.</summary>
    public int BatchSize { get; }

    /// <summary>Step η per sample.</summary>
    public double StepSize { get; }

    /// <summary>
    /// One step on the batch <paramref name="batch"/> (indices into the points) towards <paramref name="targets"/>
    /// (n × c, rows indexed like the points), updating the owned <see cref="Weights"/>. The residual
    /// G = K(X_B, X)·α − Y_B of the batch, before the update, is left in <see cref="Residual"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, or the batch is empty or too large.</exception>
    public void Step(ReadOnlySpan<int> batch, MatrixView targets, CancellationToken cancellationToken = default)
    {
        if (!_mirrored)
        {
            Kernel.TransposeWeights(Weights, _weightsT);
            _mirrored = true;
        }
        Step(batch, targets, Weights, _weightsT, cancellationToken);
        // Only the rows of B and S changed: the transposed copy follows them.
        int n = Weights.Rows, c = Weights.Columns;
        foreach (int j in batch) Mirror(j, n, c);
        foreach (int j in Preconditioner.SubsampleIndices) Mirror(j, n, c);
    }

    private void Mirror(int j, int n, int c)
    {
        var wj = Weights.Row(j);
        for (int o = 0; o < c; o++) _weightsT[(long)o * n + j] = wj[o];
    }

    /// <summary>
    /// The same step on weights held elsewhere: <paramref name="weights"/> (n × c) are updated in place (and transposed
    /// for the product on every call).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, or the batch is empty or too large.</exception>
    public void Step(ReadOnlySpan<int> batch, MatrixView targets, MatrixView weights, CancellationToken cancellationToken = default)
    {
        Guard.Shape(weights, Points.Count, _residual.Columns, nameof(weights));
        float[] weightsT = System.Buffers.ArrayPool<float>.Shared.Rent(weights.Rows * weights.Columns);
        try
        {
            Kernel.TransposeWeights(weights, weightsT);
            Step(batch, targets, weights, weightsT, cancellationToken);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(weightsT);
        }
    }

    private void Step(ReadOnlySpan<int> batch, MatrixView targets, MatrixView weights, float[] weightsT, CancellationToken cancellationToken)
    {
        int m = batch.Length, c = _residual.Columns;
        if (m < 1 || m > BatchSize) throw new ArgumentException($"Expected a batch of 1 to {BatchSize} indices, found {m}.", nameof(batch));
        Guard.Shape(targets, Points.Count, c, nameof(targets));
        var kernel = Points.Kernel;
        var batchRows = Points.Gather(batch, _batch);
        var g = _residual.RowBlock(0, m);
        // 1. G = K(X_B, X)·α − Y_B, keeping K(X_B, S) as it passes: the subsample is part of the points.
        var kbs = _batchBySubsample.RowBlock(0, m);
        kernel.Multiply(batchRows, Points, weightsT, c, g, _budget, cancellationToken: cancellationToken, context: _compute,
            keepColumns: Preconditioner.SubsampleIndices, keptColumns: kbs);
        for (int i = 0; i < m; i++) System.Numerics.Tensors.TensorPrimitives.Subtract(g.Row(i), targets.Row(batch[i]), g.Row(i));
        // 3. the correction from K(X_B, S), before α changes (both updates use the same G).
        Preconditioner.Project(kbs, g, _projected, _scratch);
        Preconditioner.Lift(_projected, _correction, _scaled);
        // 2. α[B] −= η·G;  4. α[S] += η·correction  (scatter-add: an index may be in both).
        float step = (float)StepSize;
        for (int i = 0; i < m; i++) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(g.Row(i), -step, weights.Row(batch[i]), weights.Row(batch[i]));
        var subsample = Preconditioner.SubsampleIndices;
        for (int i = 0; i < subsample.Count; i++)
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_correction.Row(i), step, weights.Row(subsample[i]), weights.Row(subsample[i]));
    }

    /// <summary>The last batch's residual G (its first rows; as many as the batch had).</summary>
    public MatrixView Residual => _residual.View;
}
