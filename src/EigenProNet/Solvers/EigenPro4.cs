using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>Settings of <see cref="EigenPro4"/> (spec eigenpro.md §3.4; every null is chosen automatically).</summary>
public sealed record EigenPro4Options : CenterModelOptions
{
    /// <summary>Options with the reference's defaults: data sample 3 000, level 150.</summary>
    public EigenPro4Options()
    {
        DataSubsampleSize = 3000;
        DataLevel = 150;
    }

    /// <summary>Nyström sample of the centers for the projection (the reference's 3 000), clamped to p.</summary>
    public int ModelSubsampleSize { get; init; } = 3000;

    /// <summary>Directions q_model the projection's preconditioner flattens (the reference's 150).</summary>
    public int ModelLevel { get; init; } = 150;

    /// <summary>The temporary centers may fill (coefficient − 1)·p rows between projections (the reference's 2).</summary>
    public int TemporaryCentersCoefficient { get; init; } = 2;
}

/// <summary>
/// EigenPro 4 (Abedsoltan, Ma, Pandit, Belkin, NeurIPS 2025; spec eigenpro.md §3): EigenPro 3's model on p centers,
/// with the projection delayed. Between projections each batch X_b joins the model as temporary centers with weights
/// −η·G and the data preconditioner's correction lives on the data-Nyström points; their evaluation at the centers
/// is accumulated (acc), and every T batches (and at the end of each epoch) θ ≈ K(Z, Z)⁻¹·acc is folded into α and
/// the temporary terms are dropped. An epoch then costs about O(n·p) instead of O(n·p + (n/b)·p²). Observers see
/// <see cref="ITrainingObserver.OnBatch"/> after the batches that end with a projection, when the model is K(x, Z)·α.
/// </summary>
public sealed class EigenPro4 : CenterModelSolver
{
    /// <summary>Creates the solver.</summary>
    public EigenPro4(Kernel kernel, EigenPro4Options? options = null) : base(kernel, "EigenPro 4") =>
        Options = options ?? new EigenPro4Options();

    /// <summary>EigenPro 4's rule (§3.3), for the data and the projection preconditioner: step 1/β below m* = int(β/λ_tail), 2/(β + (b − 1)λ_tail) from it on.</summary>
    public static StepRule StepRule { get; } = new TailEigenvalueStepRule();

    /// <summary>The settings.</summary>
    public EigenPro4Options Options { get; }

    private protected override CenterModelOptions CenterOptions => Options;

    private protected override CenterStepStrategy Strategy() => new DelayedProjections(Options);

    /// <summary>§3.6–3.7: batches join as temporary centers; every T batches (and at each epoch's end) they are projected.</summary>
    internal sealed class DelayedProjections(EigenPro4Options o) : CenterStepStrategy
    {
        private int _interval;

        public override StepRule DataStepRule => EigenPro4.StepRule;

        public override void CheckOptions() => EigenPro4.CheckOptions(o);

        /// <summary>T, set by <see cref="CheckBatch"/>.</summary>
        public int Interval => _interval;

        public int Capacity(CenterModelData data) => (o.TemporaryCentersCoefficient - 1) * data.Centers.Rows;

        public override long BytesPerRow(CenterModelData data, int dimension, int outputs) =>
            DelayedProjectionState.BytesPerRow(data.Centers.Rows, Capacity(data), data.Data.SubsampleSize, data.SubsampleLeadsCenters, dimension, outputs);

        public override int Batch(CenterModelData data, int n, int memoryBatch, List<string> warnings)
        {
            // min(10 000, m*_data) capped by n and memory; T batches fill (coefficient − 1)·p temporary centers.
            int capacity = Capacity(data);
            int batch = o.BatchSize ?? Math.Min(Math.Min(10_000, data.Data.CriticalBatchSize), Math.Min(n, memoryBatch));
            if (o.BatchSize is null && batch > capacity)
            {
                // An automatic batch never fails for want of room: it shrinks to what the temporary centers can hold.
                warnings.Add($"batch size {batch} capped to the {capacity} temporary centers that {data.Centers.Rows} centers allow");
                batch = capacity;
            }
            return batch;
        }

        public override void CheckBatch(CenterModelData data, int batch, int dimension, int outputs, MemoryBudget budget, string argument = "Options")
        {
            int capacity = Capacity(data), p = data.Centers.Rows;
            if (batch > capacity)
                throw new ArgumentException(
                    $"{p} centers leave room for {capacity} temporary centers, fewer than one batch of {batch}: use at least {(batch + o.TemporaryCentersCoefficient - 2) / (o.TemporaryCentersCoefficient - 1)} centers, a smaller batch or a larger coefficient.",
                    argument);
            _interval = Math.Max(1, capacity / batch);
        }

        // The temporary centers are held for the whole run (the setup's shares are what is left after them).
        public override long LastingBytes(CenterModelData data, int dimension, int outputs) => 4L * Capacity(data) * (dimension + outputs);

        public override CenterProjection Projector(CenterModelData data, int outputs, MemoryBudget budget, ComputeContext compute, CancellationToken ct) =>
            EigenPro4.Projector(data, o, outputs, budget, compute, ct);

        public override CenterModelSettings Settings(CenterModelData data, int n, int batch, double step, int memoryBatch, CenterProjection projection,
            IReadOnlyList<string> warnings, double setupSeconds, int seed) =>
            data.Settings<EigenPro4Settings>(n, batch, step, memoryBatch, projection, warnings, setupSeconds, seed) with { ProjectionInterval = _interval };

        public override CenterRun Start(CenterModelData data, Matrix y, CenterProjection projection, int batch, int outputs, double step,
            ComputeContext compute, CancellationToken ct) => o.Shards is { } shards
            ? new Sharding.ShardedCenterRun(data, y, projection, batch, outputs, step, shards, compute, ct, new ProjectionSchedule(_interval))
            : new Run(new DelayedProjectionState(data.Z.Kernel, data.Points, y, data.Z, data.Data, data.LiftAtCenters, projection, Capacity(data), batch,
                outputs, data.SubsampleLeadsCenters, compute), data.Data, projection, new ProjectionSchedule(_interval), ct);
    }

    private sealed class Run(DelayedProjectionState state, NystromPreconditioner pre, CenterProjection projection, ProjectionSchedule schedule,
        CancellationToken ct) : CenterRun
    {
        public override Matrix Weights => state.Alpha;

        public override bool Step(ReadOnlySpan<int> ids, int batchIndex, int batchCount)
        {
            state.Step(ids, (float)pre.StepSize(ids.Length), ct);   // §3.6: the rule for this batch's size
            if (schedule.ProjectsAfter(batchIndex, batchCount)) state.Project(ct);
            return state.IsProjected;
        }

        // The same projection schedule as the epochs being skipped (epochs end projected, so α is the whole model).
        public override void Replay(int batchIndex, int batchCount)
        {
            if (schedule.ProjectsAfter(batchIndex, batchCount)) projection.Skip(1);
        }
    }

    /// <summary>Checks the options the trainer and <see cref="EigenPro4Model"/> share.</summary>
    internal static void CheckOptions(EigenPro4Options o)
    {
        if (o.ModelLevel < 1) throw new ArgumentException($"The projection preconditioner's level must be at least 1, found {o.ModelLevel}.", nameof(Options));
        if (o.TemporaryCentersCoefficient < 2)
            throw new ArgumentException($"The temporary-centers coefficient must be at least 2, found {o.TemporaryCentersCoefficient}.", nameof(Options));
    }

    /// <summary>§3.7's projection onto span{k(z_j, ·)}: exact, or EigenPro iterations with the model preconditioner (s_model, q_model, α = 1).</summary>
    internal static CenterProjection Projector(CenterModelData data, EigenPro4Options o, int c, MemoryBudget budget, ComputeContext compute,
        CancellationToken cancellationToken)
    {
        int sModel = Math.Min(o.ModelSubsampleSize, data.Z.Count);
        return data.ProjectionFor(o.Projection, budget) == ProjectionMode.Exact
            ? CenterProjection.Exact(data.Z, budget, compute)
            : CenterProjection.Inexact(data.Z, new NystromOptions
            {
                SubsampleSize = sModel, Directions = Math.Min(o.ModelLevel, sModel - 1), DampingExponent = 1.0,
                StepRule = StepRule, Seed = SeedStreams.Derive(o.Seed, SeedStreams.ProjectionPreconditioner),
            }, 1, 10_000, c, o.Seed, budget, compute, cancellationToken);
    }
}

/// <summary>
/// §3.7's schedule: a projection every T batches (the counter runs across epochs) and after the last batch of an epoch,
/// so that every epoch ends with the whole model in α.
/// </summary>
internal sealed class ProjectionSchedule(int interval)
{
    private long _batches;

    /// <summary>T, the batches between projections.</summary>
    public int Interval => interval;

    /// <summary>Counts a batch (stepped or replayed); true when a projection follows it.</summary>
    public bool ProjectsAfter(int batchIndex, int batchCount) => (++_batches % interval == 0) || batchIndex == batchCount - 1;
}

/// <summary>
/// EigenPro 4's training-time model and its bookkeeping (spec eigenpro.md §3.2, §3.6, §3.7): f(x) = K(x, Z)·α +
/// K(x, T)·w_T + K(x, S)·w_S, with acc = K(Z, T)·w_T + K(Z, S)·w_S kept up to date so that a projection needs no
/// kernel evaluation against the temporary centers.
/// </summary>
internal sealed class DelayedProjectionState
{
    private readonly Kernel _kernel;
    private readonly TrainingRows? _points;
    private readonly KernelRows _z;
    private readonly Matrix? _y;
    private readonly Matrix _liftAtCenters;
    private readonly NystromPreconditioner _pre;
    private readonly CenterProjection _projection;
    private readonly ComputeContext _compute;
    private readonly bool _subsampleLeadsCenters;
    private readonly Matrix _temporaryWeights, _nystromWeights, _acc;
    private readonly KernelRowsBuffer _temporary;   // prepared once as they join: no kernel preparation per batch
    private readonly KernelRowsBuffer _xb;
    private readonly Matrix _kbz, _kbt, _g, _yb, _projected, _scaled, _scratch, _correction;
    private readonly Matrix? _kbs;
    private int _used;

    /// <summary>
    /// Bytes the state holds per batch row — the batch buffers below: X_b with its row statistic, K(X_b, Z), K(X_b, T) for the
    /// <paramref name="capacity"/> temporary centers, K(X_b, S) (unless S leads the centers), G and Y_b.
    /// </summary>
    public static long BytesPerRow(int centers, int capacity, int subsample, bool subsampleLeadsCenters, int dimension, int outputs) =>
        4L * (dimension + 1 + centers + capacity + (subsampleLeadsCenters ? 0 : subsample) + 2 * outputs);

    /// <summary>State for batches of at most <paramref name="batch"/> rows; <paramref name="points"/> and <paramref name="y"/> are
    /// the training rows the index overload of <see cref="Step(ReadOnlySpan{int}, float, CancellationToken)"/> reads (null when batches come as rows).</summary>
    public DelayedProjectionState(Kernel kernel, TrainingRows? points, Matrix? y, KernelRows z, NystromPreconditioner pre, Matrix liftAtCenters,
        CenterProjection projection, int capacity, int batch, int c, bool subsampleLeadsCenters, ComputeContext compute)
    {
        _kernel = kernel; _points = points; _y = y; _z = z; _pre = pre; _liftAtCenters = liftAtCenters; _projection = projection;
        _compute = compute; _subsampleLeadsCenters = subsampleLeadsCenters;
        int p = z.Count, s = pre.SubsampleSize;
        Alpha = new Matrix(p, c);
        _temporary = new KernelRowsBuffer(capacity, z.Dimension);
        _temporaryWeights = new Matrix(capacity, c);
        _nystromWeights = new Matrix(s, c);
        _acc = new Matrix(p, c);
        _xb = new KernelRowsBuffer(batch, z.Dimension);
        _kbz = new Matrix(batch, p);
        _kbt = new Matrix(batch, capacity);
        _kbs = subsampleLeadsCenters ? null : new Matrix(batch, s);
        _g = new Matrix(batch, c);
        _yb = new Matrix(batch, c);
        _projected = new Matrix(pre.Directions, c);
        _scaled = new Matrix(pre.Directions, c);
        _scratch = new Matrix(s, c);
        _correction = new Matrix(s, c);
    }

    /// <summary>α on the centers (the saved model's weights; the whole model right after a projection).</summary>
    public Matrix Alpha { get; }

    /// <summary>Temporary centers the state holds at most.</summary>
    public int Capacity => _temporary.Capacity;

    /// <summary>Temporary centers in use.</summary>
    public int TemporaryCount => _used;

    /// <summary>True right after a projection, when f(x) = K(x, Z)·α.</summary>
    public bool IsProjected => _used == 0;

    /// <summary>acc (p × c): the evaluation at the centers of the temporary and Nyström terms.</summary>
    internal Matrix Accumulated => _acc;

    /// <summary>The temporary centers, their weights and the Nyström weights (tests check the bookkeeping with them).</summary>
    internal (MatrixView Centers, MatrixView Weights, Matrix NystromWeights) Temporary =>
        (_temporary.Points.RowBlock(0, _used), _temporaryWeights.RowBlock(0, _used), _nystromWeights);

    /// <summary>
    /// output (m × c) = f(X_b) with the whole training-time model — K(X_b, Z)·α + K(X_b, S)·w_S + K(X_b, T)·w_T, the
    /// temporary centers included — for at most one batch of rows; K(X_b, Z) and K(X_b, S) stay in the batch buffers for
    /// the step that follows. The state itself is not changed.
    /// </summary>
    private (MatrixView Kbz, MatrixView Kbs) Outputs(KernelRows rows, MatrixView output)
    {
        int m = rows.Count, s = _pre.SubsampleSize;
        var kbz = _kbz.RowBlock(0, m);
        _kernel.Evaluate(rows, _z, kbz, _compute);
        Gemm.Compute(Transpose.No, Transpose.No, 1f, kbz, Alpha, 0f, output, _compute);
        MatrixView kbs;
        if (_kbs is null) kbs = kbz.Block(0, 0, m, s);
        else
        {
            kbs = _kbs.RowBlock(0, m);
            _kernel.Evaluate(rows, _pre.Subsample, kbs, _compute);
        }
        Gemm.Compute(Transpose.No, Transpose.No, 1f, kbs, _nystromWeights, 1f, output, _compute);
        if (_used > 0)
        {
            var kbt = _kbt.View.Block(0, 0, m, _used);
            _kernel.Evaluate(rows, TemporaryRows(), kbt, _compute);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, kbt, _temporaryWeights.RowBlock(0, _used), 1f, output, _compute);
        }
        return (kbz, kbs);
    }

    /// <summary>f(x) with the training-time model (pending temporary centers included, nothing projected), a batch at a time.</summary>
    public Matrix Predict(KernelRows rows, CancellationToken ct)
    {
        var output = new Matrix(rows.Count, Alpha.Columns);
        for (int start = 0; start < rows.Count; start += _g.Rows)
        {
            ct.ThrowIfCancellationRequested();
            int m = Math.Min(_g.Rows, rows.Count - start);
            Outputs(rows.Slice(start, m), output.RowBlock(start, m));
        }
        return output;
    }

    /// <summary>One step (§3.6) on the batch <paramref name="ids"/> with per-sample step <paramref name="step"/>.</summary>
    public void Step(ReadOnlySpan<int> ids, float step, CancellationToken ct)
    {
        if (_points is null || _y is null) throw new InvalidOperationException("This state was built without training rows; pass the batch's rows.");
        var yb = _yb.RowBlock(0, ids.Length);
        for (int i = 0; i < ids.Length; i++) _y.Row(ids[i]).CopyTo(yb.Row(i));
        Step(_points.Batch(ids, _xb, _compute), yb, step, ct);
    }

    /// <summary>One step (§3.6) on prepared batch rows with targets <paramref name="yb"/> (m × c).</summary>
    public void Step(KernelRows rows, MatrixView yb, float step, CancellationToken ct)
    {
        int m = rows.Count, c = Alpha.Columns, s = _pre.SubsampleSize;
        if (_used + m > _temporary.Capacity)
            throw new InvalidOperationException($"Out of capacity: {_used} + {m} temporary centers exceed the {_temporary.Capacity} allowed; project first.");
        if (m > _g.Rows) throw new ArgumentException($"A batch of {m} rows exceeds the {_g.Rows} this state was sized for.", nameof(rows));
        // 1–2. G = f(X_b) − Y_b with the whole training-time model.
        var g = _g.RowBlock(0, m);
        var (kbz, kbs) = Outputs(rows, g);
        for (int i = 0; i < m; i++) System.Numerics.Tensors.TensorPrimitives.Subtract(g.Row(i), yb.Row(i), g.Row(i));
        // 4. The data preconditioner's pieces: vtkg = Uᵀ·K(S, X_b)·G, vdvtkg = U·diag(r)·vtkg.
        _pre.Project(kbs, g, _projected, _scratch);
        // 5. acc −= η·(K(Z, X_b)·G − K(Z, S)·U·diag(r)·vtkg).
        Gemm.Compute(Transpose.Yes, Transpose.No, -step, kbz, g, 1f, _acc, _compute);
        if (_pre.Directions > 0) Gemm.Compute(Transpose.No, Transpose.No, step, _liftAtCenters, _projected, 1f, _acc, _compute);
        _pre.Lift(_projected, _correction, _scaled);
        // X_b joins as temporary centers with weights −η·G; 6. w_S += η·vdvtkg.
        _temporary.Append(rows, _used);
        for (int i = 0; i < m; i++) System.Numerics.Tensors.TensorPrimitives.Multiply(g.Row(i), -step, _temporaryWeights.Row(_used + i));
        _used += m;
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_correction.AsSpan(), step, _nystromWeights.AsSpan(), _nystromWeights.AsSpan());
    }

    /// <summary>§3.7: α += θ ≈ K(Z, Z)⁻¹·acc, then the temporary and Nyström terms and acc are dropped.</summary>
    public void Project(CancellationToken ct)
    {
        var theta = _projection.Project(_acc, ct);
        System.Numerics.Tensors.TensorPrimitives.Add(Alpha.AsSpan(), theta.AsSpan(), Alpha.AsSpan());
        _used = 0;
        _nystromWeights.AsSpan().Clear();
        _acc.AsSpan().Clear();
    }

    private KernelRows TemporaryRows() => _temporary.Rows(_kernel, _used);
}
