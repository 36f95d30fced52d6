using System.Diagnostics;
using System.Numerics.Tensors;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Sharding;

/// <summary>
/// The numerics of one shard of a center-sharded EigenPro 3 run (docs/distributed.md): the rows of EigenPro 3's step
/// (spec eigenpro.md §2.4) that belong to the shard's slice Z_s of the centers — K(X_B, Z_s), its share of the
/// prediction K(X_B, Z_s)·α_s, the right-hand side h_s = K(Z_s, X_B)·G − K(Z_s, S)·U·diag(r)·Uᵀ·K(S, X_B)·G and the
/// update α_s −= η·θ_s — and of the inexact projection's EigenPro 2 iterations over the centers (§2.5). Every product is
/// the library's kernel block and GEMM; a transport (<see cref="LocalCenterShard"/>, an Orleans grain) only carries the
/// matrices. Not thread-safe: a transport calls it one request at a time.
/// </summary>
public sealed class CenterShard
{
    /// <summary>The request protocol's version: shards and coordinators must agree on it (and on the library's version).</summary>
    public const int ProtocolVersion = 1;

    private readonly Kernel _kernel;
    private readonly KernelRows _z;
    private readonly Matrix _lift, _alpha, _theta, _h, _kbz, _kbt, _temporaryWeights;
    private readonly KernelRowsBuffer _temporary, _batch;   // EigenPro 4's temporary centers; the last forward pass's rows
    private int _used;
    private readonly MemoryBudget _budget;
    private readonly ComputeContext _compute;
    private readonly Stopwatch _computing = new();
    private int _batchRows = -1;   // rows of the batch whose K(X_B, Z_s) is kept; −1 before the first forward pass

    /// <summary>Checks and holds <paramref name="load"/>'s slice within <paramref name="budget"/> (centers, lift, α, θ, h, K(X_B, Z_s)).</summary>
    /// <exception cref="ArgumentException">The slice's shapes disagree or hold a NaN/Inf (the part is named).</exception>
    /// <exception cref="MemoryBudgetExceededException">The slice and its batch buffer do not fit the budget (itemised).</exception>
    public CenterShard(ShardLoad load, MemoryBudget? budget = null, ComputeContext? compute = null)
    {
        ArgumentNullException.ThrowIfNull(load);
        ArgumentException.ThrowIfNullOrEmpty(load.Run, nameof(load));
        var centers = load.Centers ?? throw new ArgumentException("The shard's load has no centers.", nameof(load));
        int p = centers.Rows, d = centers.Columns, c = load.Outputs;
        if (p < 1) throw new ArgumentException($"Shard {load.Index}: expected at least one center, found none.", nameof(load));
        if (c < 1) throw new ArgumentException($"Shard {load.Index}: expected at least one output, found {c}.", nameof(load));
        if (load.Offset < 0) throw new ArgumentException($"Shard {load.Index}: the offset must be non-negative, found {load.Offset}.", nameof(load));
        if (load.MaxBatch < 1 || load.MaxProjectionBatch < 1)
            throw new ArgumentException($"Shard {load.Index}: the batch sizes must be at least 1, found {load.MaxBatch} and {load.MaxProjectionBatch}.", nameof(load));
        var lift = load.LiftAtCenters ?? throw new ArgumentException("The shard's load has no lift at the centers.", nameof(load));
        if (lift.Rows != p) throw new ArgumentException($"Shard {load.Index}: the lift has {lift.Rows} rows for {p} centers.", nameof(load));
        Guard.AllFinite(centers, "centers");
        Guard.AllFinite(lift, "lift at the centers");
        _budget = budget ?? MemoryBudget.Default;
        _compute = compute ?? ComputeContext.Default;
        if (load.TemporaryCapacity < 0) throw new ArgumentException($"Shard {load.Index}: the temporary capacity must be non-negative, found {load.TemporaryCapacity}.", nameof(load));
        int t = load.TemporaryCapacity;
        (string, long)[] held =
        [
            ("the centers", 4L * p * (d + 1)), ("the lift at the centers", 4L * lift.Data.LongLength), ("α, θ and h", 12L * p * c),
            ($"K(X_B, Z_s) for batches of {load.MaxBatch}", 4L * load.MaxBatch * p), ("the batch's rows", 4L * load.MaxBatch * (d + 1)),
            ($"{t} temporary centers", 4L * t * (d + 1 + c)), ("K(X_B, T_s)", 4L * load.MaxBatch * t),
        ];
        _budget.Require($"Shard {load.Index} of run {load.Run} ({p} centers)", held);
        _kernel = load.Kernel.Create(load.MahalanobisM);
        _z = _kernel.Prepare(centers, "centers", _compute);
        var left = _budget.After("the shard's products", held);
        _z = _z.PackedWithin(left, _compute);
        _lift = lift;
        _alpha = new Matrix(p, c);
        _theta = new Matrix(p, c);
        _h = new Matrix(p, c);
        _kbz = new Matrix(load.MaxBatch, p);
        _batch = new KernelRowsBuffer(load.MaxBatch, d);
        _temporary = new KernelRowsBuffer(t, d);
        _temporaryWeights = new Matrix(t, c);
        _kbt = new Matrix(t > 0 ? load.MaxBatch : 0, t);
        Load = load;
    }

    /// <summary>What the shard was loaded with.</summary>
    public ShardLoad Load { get; }

    /// <summary>The centers the shard owns.</summary>
    public int Count => _z.Count;

    /// <summary>α_s, the weights of the shard's centers (live).</summary>
    public Matrix Weights => _alpha;

    /// <summary>Seconds spent in the shard's products so far.</summary>
    public double ComputeSeconds => _computing.Elapsed.TotalSeconds;

    /// <summary>Sets α_s.</summary>
    public void SetWeights(MatrixView weights)
    {
        Guard.Shape(weights, _alpha.Rows, _alpha.Columns, nameof(weights));
        Guard.AllFinite(weights, nameof(weights));
        weights.CopyTo(_alpha);
    }

    /// <summary>Temporary centers held (EigenPro 4, between projections).</summary>
    public int TemporaryCount => _used;

    /// <summary>
    /// K(X_B, Z_s)·α_s (+ K(X_B, T_s)·w_T for EigenPro 4's temporary centers) for the batch's raw features (b × d),
    /// keeping K(X_B, Z_s) and the prepared rows for <see cref="Backward"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is larger than loaded for, of another dimension, or not finite.</exception>
    public Matrix Forward(MatrixView x)
    {
        if (x.Rows < 1 || x.Rows > _kbz.Rows) throw new ArgumentException($"Expected a batch of 1 to {_kbz.Rows} rows, found {x.Rows}.", nameof(x));
        Guard.Columns(x, _z.Dimension, nameof(x));
        _computing.Start();
        try
        {
            var rows = _kernel.Prepare(x, nameof(x), _compute);
            var kbz = _kbz.RowBlock(0, x.Rows);
            _kernel.Evaluate(rows, _z, kbz, _compute);
            var partial = new Matrix(x.Rows, _alpha.Columns);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, kbz, _alpha, 0f, partial, _compute);
            if (_used > 0)
            {
                var kbt = _kbt.View.Block(0, 0, x.Rows, _used);
                _kernel.Evaluate(rows, _temporary.Rows(_kernel, _used), kbt, _compute);
                Gemm.Compute(Transpose.No, Transpose.No, 1f, kbt, _temporaryWeights.RowBlock(0, _used), 1f, partial, _compute);
            }
            if (_temporary.Capacity > 0) _batch.Append(rows, 0);   // the rows that may join the temporary centers
            _batchRows = x.Rows;
            return partial;
        }
        finally { _computing.Stop(); }
    }

    /// <summary>The right-hand side from the last <see cref="Forward"/>'s batch (see <see cref="BackwardStep"/>).</summary>
    /// <exception cref="InvalidOperationException">No forward pass came first, or the temporary centers are full.</exception>
    /// <exception cref="ArgumentException">The residual is not the batch's (b × c), the projection not q × c, or the rows to join not the batch's.</exception>
    public void Backward(BackwardStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (_batchRows < 0) throw new InvalidOperationException("A backward pass needs the forward pass of its batch first.");
        Guard.Shape(step.Residual, _batchRows, _alpha.Columns, "residual");
        Guard.Shape(step.Projected, _lift.Columns, _alpha.Columns, "projected");
        _computing.Start();
        try
        {
            var kbz = _kbz.RowBlock(0, _batchRows);
            if (step.AccumulateStep is not float eta)
            {
                // EigenPro 3 (§2.4): h = K(Z_s, X_B)·G − K(Z_s, S)·U·diag(r)·Uᵀ·K(S, X_B)·G.
                Gemm.Compute(Transpose.Yes, Transpose.No, 1f, kbz, step.Residual, 0f, _h, _compute);
                if (_lift.Columns > 0) Gemm.Compute(Transpose.No, Transpose.No, -1f, _lift, step.Projected, 1f, _h, _compute);
                return;
            }
            // EigenPro 4 (§3.6): acc −= η·(K(Z_s, X_B)·G − lift_s·projected); the shard's rows of the batch join as temporary centers.
            if (step.JoinFrom < 0 || step.JoinCount < 0 || step.JoinFrom + step.JoinCount > _batchRows)
                throw new ArgumentException($"Rows [{step.JoinFrom}, {step.JoinFrom + step.JoinCount}) to join are not rows of the batch of {_batchRows}.", nameof(step));
            if (_used + step.JoinCount > _temporary.Capacity)
                throw new InvalidOperationException($"Out of capacity: {_used} + {step.JoinCount} temporary centers exceed the shard's {_temporary.Capacity}; project first.");
            Gemm.Compute(Transpose.Yes, Transpose.No, -eta, kbz, step.Residual, 1f, _h, _compute);
            if (_lift.Columns > 0) Gemm.Compute(Transpose.No, Transpose.No, eta, _lift, step.Projected, 1f, _h, _compute);
            if (step.JoinCount == 0) return;
            _temporary.Append(_batch.Rows(_kernel, _batchRows).Slice(step.JoinFrom, step.JoinCount), _used);
            for (int i = 0; i < step.JoinCount; i++) TensorPrimitives.Multiply(step.Residual.Row(step.JoinFrom + i), -eta, _temporaryWeights.Row(_used + i));
            _used += step.JoinCount;
        }
        finally { _computing.Stop(); }
    }

    /// <summary>h_s, the right-hand side of the last backward pass (live).</summary>
    public Matrix RightHandSide => _h;

    /// <summary>One exchange of the inexact projection (see <see cref="ProjectionRequest"/>).</summary>
    /// <exception cref="ArgumentException">The request's shapes disagree.</exception>
    public ProjectionReply Project(ProjectionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        int c = _alpha.Columns;
        _computing.Start();
        try
        {
            if (request.Begin) _theta.AsSpan().Clear();
            // θ[B] −= η·G, then θ[S] += η·correction (the scatter order of EigenProIteration's step).
            if (request.UpdateIds is { } ids)
            {
                var g = request.Residual ?? throw new ArgumentException("An update needs its residual.", nameof(request));
                Guard.Shape(g, ids.Length, c, "residual");
                for (int i = 0; i < ids.Length; i++)
                    if (Local(ids[i]) is int j and >= 0) TensorPrimitives.MultiplyAdd(g.Row(i), -request.Step, _theta.Row(j), _theta.Row(j));
            }
            if (request.SubsampleIds is { } sample)
            {
                var correction = request.Correction ?? throw new ArgumentException("A subsample update needs its correction.", nameof(request));
                Guard.Shape(correction, sample.Length, c, "correction");
                for (int i = 0; i < sample.Length; i++)
                    if (Local(sample[i]) is int j and >= 0) TensorPrimitives.MultiplyAdd(correction.Row(i), request.Step, _theta.Row(j), _theta.Row(j));
            }
            if (request.ApplyStep is float step) Apply(step);
            if (request.NextIds is not { } next) return new ProjectionReply(null, null);
            var points = request.NextPoints ?? throw new ArgumentException("A next batch needs its points.", nameof(request));
            if (points.Rows != next.Length || points.Rows > Load.MaxProjectionBatch)
                throw new ArgumentException($"Expected 1 to {Load.MaxProjectionBatch} projection rows with one id each, found {points.Rows} rows and {next.Length} ids.", nameof(request));
            Guard.Columns(points, _z.Dimension, "next points");
            var rows = _kernel.Prepare(points, "next points", _compute);
            var partial = new Matrix(next.Length, c);
            _kernel.Multiply(rows, _z, _theta, partial, _budget, context: _compute);
            var targets = new Matrix(next.Count(id => Local(id) >= 0), c);
            for (int i = 0, t = 0; i < next.Length; i++)
                if (Local(next[i]) is int j and >= 0) _h.Row(j).CopyTo(targets.Row(t++));
            return new ProjectionReply(partial, targets);
        }
        finally { _computing.Stop(); }
    }

    /// <summary>The row of global center <paramref name="id"/> in this shard's slice, or −1 when another shard owns it.</summary>
    private int Local(int id) => (uint)(id - Load.Offset) < (uint)_z.Count ? id - Load.Offset : -1;

    /// <summary>Ends a projection: α_s −= <paramref name="step"/>·θ_s (θ_s the given slice or the shard's own); h_s and the temporary centers are dropped.</summary>
    public void Apply(float step, MatrixView? theta = null)
    {
        var t = theta ?? _theta.View;
        Guard.Shape(t, _alpha.Rows, _alpha.Columns, nameof(theta));
        Guard.AllFinite(t, nameof(theta));
        for (int i = 0; i < t.Rows; i++) TensorPrimitives.MultiplyAdd(t.Row(i), -step, _alpha.Row(i), _alpha.Row(i));
        _h.AsSpan().Clear();
        _used = 0;
    }
}
