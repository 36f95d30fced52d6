using System.Diagnostics;
using System.Numerics.Tensors;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Solvers;

namespace EigenProNet.Sharding;

/// <summary>
/// EigenPro 3's step (spec eigenpro.md §2.4) or EigenPro 4's (§3.6–3.7) with the centers spread over shards — the
/// coordinator's side (docs/distributed.md). Per batch X_B: every shard gets X_B once and returns K(X_B, Z_s)·α_s
/// (EigenPro 4: + K(X_B, T_s)·w_T over its temporary centers); the coordinator sums them into the residual G, computes
/// the data preconditioner's K(X_B, S) and Uᵀ·K(S, X_B)·G itself (its S is a few thousand rows; EigenPro 4's Nyström
/// weights w_S live here too) and sends both back; each shard forms its rows of h (EigenPro 4: accumulates them, and
/// its share of X_B joins its temporary centers). The projection θ ≈ K(Z, Z)⁻¹·h — after every batch, or on EigenPro
/// 4's schedule — runs exactly (h gathered, solved by the coordinator's factor, θ's slices sent back) or as the same
/// EigenPro 2 iterations over the centers as <see cref="CenterProjection"/>'s — their product K(Z_B, Z)·θ summed from
/// the shards, the preconditioner's correction computed here — one exchange per projection batch. Each shard then
/// updates its own α_s. The coordinator keeps the centers (for the model it returns) and gathers α at the end of every
/// epoch, before the evaluation, checkpoint and observers see the model; batches are not observed one by one.
/// </summary>
internal sealed class ShardedCenterRun : CenterRun
{
    private readonly CenterModelData _data;
    private readonly Matrix _y, _weights;
    private readonly CenterProjection _projection;
    private readonly CenterShards _shards;
    private readonly ComputeContext _compute;
    private readonly CancellationToken _ct;
    private readonly int[] _offsets;   // shard i owns centers [_offsets[i], _offsets[i + 1])
    private readonly float _step;
    private readonly KernelRowsBuffer _xb, _zb;
    private readonly Matrix _yb, _kbs, _projected, _scratch;
    private readonly Matrix? _kzs, _correction, _projectedZ, _scaledZ, _scratchZ;
    private readonly ProjectionSchedule? _schedule;          // EigenPro 4's delayed projections; null: EigenPro 3, every batch
    private readonly Matrix _nystromWeights, _dataCorrection, _dataScaled;   // EigenPro 4's w_S and its update
    private bool _weightsSent;
    private Matrix? _shortBatch, _shortProjectionBatch;
    private bool _training;   // the shards are loaded: exchanges count as training traffic (the load is counted apart)

    /// <summary>EigenPro 3 with <paramref name="schedule"/> null (a projection after every batch, step <paramref name="step"/>), else EigenPro 4.</summary>
    public ShardedCenterRun(CenterModelData data, Matrix y, CenterProjection projection, int batch, int outputs, double step, CenterShards shards,
        ComputeContext compute, CancellationToken ct, ProjectionSchedule? schedule = null)
    {
        _schedule = schedule;
        _data = data;
        _y = y;
        _projection = projection;
        _shards = shards;
        _compute = compute;
        _ct = ct;
        _step = (float)step;
        int p = data.Z.Count, k = shards.Shards.Count, d = data.Z.Dimension, c = outputs;
        if (k > p) throw new ArgumentException($"{k} shards for {p} centers: every shard needs at least one center.", "Shards");
        _offsets = Enumerable.Range(0, k + 1).Select(i => (int)((long)p * i / k)).ToArray();
        _weights = new Matrix(p, c);
        var pre = data.Data;
        _xb = new KernelRowsBuffer(batch, d);
        _yb = new Matrix(batch, c);
        _kbs = new Matrix(batch, pre.SubsampleSize);
        _projected = new Matrix(pre.Directions, c);
        _scratch = new Matrix(pre.SubsampleSize, c);
        _nystromWeights = new Matrix(schedule is null ? 0 : pre.SubsampleSize, c);
        _dataCorrection = new Matrix(schedule is null ? 0 : pre.SubsampleSize, c);
        _dataScaled = new Matrix(schedule is null ? 0 : pre.Directions, c);
        int projectionBatch = projection.BatchSize ?? 1;
        if (projection.Preconditioner is { } z)
        {
            _zb = new KernelRowsBuffer(projectionBatch, d);
            _kzs = new Matrix(projectionBatch, z.SubsampleSize);
            _correction = new Matrix(z.SubsampleSize, c);
            _projectedZ = new Matrix(z.Directions, c);
            _scaledZ = new Matrix(z.Directions, c);
            _scratchZ = new Matrix(z.SubsampleSize, c);
        }
        else _zb = new KernelRowsBuffer(1, d);
        // EigenPro 4: each batch's rows are cut among the shards as they join, so a shard holds its part of T batches.
        int temporary = schedule is null ? 0 : schedule.Interval * ((batch + k - 1) / k);
        Load(batch, projectionBatch, outputs, temporary);
        _training = true;
    }

    public override Matrix Weights => _weights;

    private int Count => _shards.Shards.Count;

    private void Load(int batch, int projectionBatch, int outputs, int temporaryCapacity)
    {
        var descriptions = All("the version check", (s, _) => s.DescribeAsync(_ct), sent: _ => 0, received: _ => 64);
        for (int i = 0; i < Count; i++)
            if (descriptions[i].Version != ShardDescription.CurrentVersion)
                throw new ShardFailedException($"Shard {i} on {descriptions[i].Host} runs EigenProNet {descriptions[i].Version}, this coordinator {ShardDescription.CurrentVersion}: run the same version everywhere.", i);
        KernelSpec spec;
        Matrix? m;
        try { (spec, m) = KernelSpec.Of(_data.Z.Kernel); }
        catch (NotSupportedException e) { throw new ArgumentException($"{_data.Z.Kernel} cannot be sent to shards: only the built-in kernels can ({e.Message}).", "Shards", e); }
        All("loading the centers", (s, i) => s.LoadAsync(new ShardLoad(_shards.Run, i, _offsets[i], spec, m,
                Slice(_data.Centers, i), Slice(_data.LiftAtCenters, i), outputs, batch, projectionBatch, temporaryCapacity), _ct),
            sent: i => 4L * (_offsets[i + 1] - _offsets[i]) * (_data.Centers.Columns + _data.LiftAtCenters.Columns));
    }

    private Matrix Slice(Matrix whole, int shard)
    {
        int start = _offsets[shard], rows = _offsets[shard + 1] - start;
        var slice = new Matrix(rows, whole.Columns);
        whole.View.RowBlock(start, rows).CopyTo(slice);
        return slice;
    }

    public override bool Step(ReadOnlySpan<int> ids, int batchIndex, int batchCount)
    {
        string run = _shards.Run;
        int m = ids.Length, c = _weights.Columns;
        if (!_weightsSent)
        {
            // The weights the run starts from (zero, or a resumed checkpoint's) become the shards'.
            All("sending the weights", (s, i) => s.SetWeightsAsync(run, Slice(_weights, i), _ct), sent: i => 4L * (_offsets[i + 1] - _offsets[i]) * c);
            _weightsSent = true;
        }
        var rows = _data.Points.Batch(ids, _xb, _compute);
        var x = Whole(_xb, rows, ref _shortBatch);
        var yb = _yb.View.RowBlock(0, m);
        for (int i = 0; i < m; i++) _y.Row(ids[i]).CopyTo(yb.Row(i));
        var pre = _data.Data;
        bool delayed = _schedule is not null;
        // G = Σ_s K(X_B, Z_s)·α_s (+ K(X_B, T_s)·w_T, + K(X_B, S)·w_S) − Y_B; K(X_B, S) here while the shards compute.
        var kbs = _kbs.RowBlock(0, m);
        var partials = All("the forward pass", (s, _) => s.ForwardAsync(run, x, _ct), sent: _ => 4L * x.Data.Length, received: _ => 4L * m * c,
            meanwhile: () => { if (delayed || pre.Directions > 0) pre.Kernel.Evaluate(rows, pre.Subsample, kbs, _compute); });
        var g = Sum(partials, m, c);
        if (delayed) Gemm.Compute(Transpose.No, Transpose.No, 1f, kbs, _nystromWeights, 1f, g, _compute);
        for (int i = 0; i < m; i++) TensorPrimitives.Subtract(g.Row(i), yb.Row(i), g.Row(i));
        if (delayed || pre.Directions > 0) pre.Project(kbs, g, _projected, _scratch);
        else _projected.AsSpan().Clear();
        long backwardBytes = 4L * (g.Data.Length + _projected.Data.Length);
        if (!delayed)
        {
            All("the backward pass", (s, _) => s.BackwardAsync(run, new BackwardStep(g, _projected), _ct), sent: _ => backwardBytes);
            Project(run, c, _step);
        }
        else
        {
            // §3.6: the rule's step for this batch's size; the shards' accumulations and temporary centers, w_S here.
            float eta = (float)pre.StepSize(m);
            All("the backward pass", (s, i) => s.BackwardAsync(run, new BackwardStep(g, _projected, eta, m * i / Count, m * (i + 1) / Count - m * i / Count), _ct),
                sent: _ => backwardBytes);
            pre.Lift(_projected, _dataCorrection, _dataScaled);
            TensorPrimitives.MultiplyAdd(_dataCorrection.AsSpan(), eta, _nystromWeights.AsSpan(), _nystromWeights.AsSpan());
            if (_schedule!.ProjectsAfter(batchIndex, batchCount))
            {
                Project(run, c, -1f);   // §3.7: α += θ
                _nystromWeights.AsSpan().Clear();
            }
        }
        _shards.Traffic.Batches++;
        return false;   // the coordinator's weights are stale until the epoch's end
    }

    /// <summary>θ ≈ K(Z, Z)⁻¹·h, then α_s −= <paramref name="applyStep"/>·θ_s on every shard (which drops h and its temporary centers).</summary>
    private void Project(string run, int c, float applyStep)
    {
        if (_projection.IsExact) ProjectExactly(run, c, applyStep);
        else ProjectByIterations(run, c, applyStep);
    }

    /// <summary>θ = K(Z, Z)⁻¹·h by the coordinator's factor: h gathered, θ's slices sent back with the step.</summary>
    private void ProjectExactly(string run, int c, float applyStep)
    {
        var parts = All("gathering h", (s, _) => s.RightHandSideAsync(run, _ct), received: i => 4L * (_offsets[i + 1] - _offsets[i]) * c);
        var h = new Matrix(_weights.Rows, c);
        for (int i = 0; i < Count; i++) parts[i].View.CopyTo(h.View.RowBlock(_offsets[i], parts[i].Rows));
        var theta = _projection.Project(h, _ct);
        All("the update", (s, i) => s.ApplyAsync(run, applyStep, Slice(theta, i), _ct), sent: i => 4L * (_offsets[i + 1] - _offsets[i]) * c);
    }

    /// <summary>
    /// The inexact projection's EigenPro 2 epochs over the centers (as <see cref="CenterProjection.Project"/>, from θ = 0):
    /// per projection batch B one exchange carries the previous batch's update and returns Σ_s K(Z_B, Z_s)·θ_s and h at B.
    /// </summary>
    private void ProjectByIterations(string run, int c, float applyStep)
    {
        var pre = _projection.Preconditioner!;
        int p = _weights.Rows, batch = _projection.BatchSize!.Value;
        float step = (float)_projection.StepSize!.Value;
        int[] sample = [.. pre.SubsampleIndices];
        int[]? updateIds = null;
        Matrix? residual = null, correction = null;
        for (int epoch = 0; epoch < _projection.Epochs; epoch++)
        {
            var order = _projection.NextOrder(p);
            for (int start = 0; start < p; start += batch)
            {
                _ct.ThrowIfCancellationRequested();
                int[] ids = order[start..Math.Min(p, start + batch)];
                int m = ids.Length;
                var zb = _data.Z.Gather(ids, _zb);
                var points = Whole(_zb, zb, ref _shortProjectionBatch);
                var request = new ProjectionRequest(updateIds, residual, updateIds is null ? null : sample, correction, step, ids, points, null, Begin: updateIds is null);
                var kzs = _kzs!.RowBlock(0, m);
                var replies = All("the projection", (s, _) => s.ProjectAsync(run, request, _ct), sent: _ => RequestBytes(request),
                    received: i => 4L * (m + ids.Count(id => Owner(id) == i)) * c, meanwhile: () => pre.Kernel.Evaluate(zb, pre.Subsample, kzs, _compute));
                // G = K(Z_B, Z)·θ − h_B; the correction U·diag(r)·Uᵀ·K(S, Z_B)·G as EigenProIteration's.
                var g = Sum(replies.Select(r => r.Partial!).ToArray(), m, c);
                var taken = new int[Count];
                for (int i = 0; i < m; i++)
                {
                    int owner = Owner(ids[i]);
                    TensorPrimitives.Subtract(g.Row(i), replies[owner].TargetRows!.Row(taken[owner]++), g.Row(i));
                }
                pre.Project(kzs, g, _projectedZ!, _scratchZ!);
                correction = new Matrix(sample.Length, c);
                pre.Lift(_projectedZ!, correction, _scaledZ!);
                (updateIds, residual) = (ids, g);
            }
        }
        var last = new ProjectionRequest(updateIds, residual, updateIds is null ? null : sample, correction, step, null, null, applyStep);
        All("the update", (s, _) => s.ProjectAsync(run, last, _ct), sent: _ => RequestBytes(last), received: _ => 0);
    }

    /// <summary>
    /// The gathered rows as a matrix of their own: the buffer itself when they fill it, else a matrix kept for that size
    /// (an epoch's last batch). A fresh 50 MB matrix per batch cost more than its copy — 0.16 s of page faults.
    /// </summary>
    private static Matrix Whole(KernelRowsBuffer buffer, KernelRows rows, ref Matrix? shorter)
    {
        if (rows.Count == buffer.Capacity && ReferenceEquals(rows.Points.Storage, buffer.Points.Data)) return buffer.Points;
        if (shorter is null || shorter.Rows != rows.Count) shorter = new Matrix(rows.Count, rows.Dimension);
        rows.Points.CopyTo(shorter);
        return shorter;
    }

    private static long RequestBytes(ProjectionRequest r) =>
        4L * ((r.UpdateIds?.Length ?? 0) + (r.Residual?.Data.Length ?? 0) + (r.SubsampleIds?.Length ?? 0) + (r.Correction?.Data.Length ?? 0)
              + (r.NextIds?.Length ?? 0) + (r.NextPoints?.Data.Length ?? 0)) + 12;

    private int Owner(int center)
    {
        int i = Array.BinarySearch(_offsets, center);
        return i >= 0 ? i : ~i - 1;
    }

    private static Matrix Sum(Matrix[] parts, int rows, int c)
    {
        var sum = new Matrix(rows, c);
        foreach (var part in parts) TensorPrimitives.Add(sum.AsSpan(), part.AsSpan(), sum.AsSpan());
        return sum;
    }

    /// <summary>Gathers α from the shards, so that the epoch's evaluation, checkpoint and observers see the model.</summary>
    public override void Synchronize()
    {
        string run = _shards.Run;
        int c = _weights.Columns;
        var parts = All("gathering the weights", (s, _) => s.WeightsAsync(run, _ct), received: i => 4L * (_offsets[i + 1] - _offsets[i]) * c);
        for (int i = 0; i < Count; i++) parts[i].View.CopyTo(_weights.View.RowBlock(_offsets[i], parts[i].Rows));
        var seconds = All("reading the compute time", (s, _) => s.ComputeSecondsAsync(run, _ct), received: _ => 8);
        _shards.Traffic.SlowestShardComputeSeconds = seconds.Max();
    }

    public override void Replay(int batchIndex, int batchCount)
    {
        if (_schedule is null || _schedule.ProjectsAfter(batchIndex, batchCount)) _projection.Skip(1);
    }

    private void All(string what, Func<ICenterShard, int, Task> call, Func<int, long> sent) =>
        All(what, async (s, i) => { await call(s, i).ConfigureAwait(false); return true; }, sent, _ => 0);

    /// <summary>Sends one request to every shard at once and waits for all replies; a failure names the shard and what it was doing.</summary>
    private T[] All<T>(string what, Func<ICenterShard, int, Task<T>> call, Func<int, long>? sent = null, Func<int, long>? received = null, Action? meanwhile = null)
    {
        var traffic = _shards.Traffic;
        var tasks = new Task<T>[Count];
        long bytes = 0;
        // The round trip runs from the first request to the last reply, whatever the coordinator does meanwhile.
        var roundTrip = Stopwatch.StartNew();
        long lastReply = 0;
        for (int i = 0; i < Count; i++)
        {
            bytes += sent?.Invoke(i) ?? 0;
            try { tasks[i] = call(_shards.Shards[i], i); }
            catch (Exception e) when (e is not OperationCanceledException) { tasks[i] = Task.FromException<T>(e); }
            tasks[i].ContinueWith(_ => Interlocked.Exchange(ref lastReply, Math.Max(Interlocked.Read(ref lastReply), roundTrip.ElapsedTicks)),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        meanwhile?.Invoke();
        var clock = Stopwatch.StartNew();
        try { Task.WaitAll(tasks, _ct); }
        catch (AggregateException) { }
        double waited = clock.Elapsed.TotalSeconds;
        double trip = Math.Max(Interlocked.Read(ref lastReply), 0) / (double)Stopwatch.Frequency;
        for (int i = 0; i < Count; i++)
        {
            if (tasks[i].IsCanceled) throw new OperationCanceledException(_ct);
            if (tasks[i].Exception is { } failure)
            {
                var e = failure.InnerExceptions.Count == 1 ? failure.InnerException! : failure;
                if (e is OperationCanceledException && _ct.IsCancellationRequested) throw e;
                // A transport's message may carry its stack below the first line: the first says what happened.
                string message = e.Message.Split('\n', 2)[0].TrimEnd();
                throw new ShardFailedException($"Shard {i} of {Count} failed in {what}: {message}", i, e);
            }
        }
        long back = Enumerable.Range(0, Count).Sum(i => received?.Invoke(i) ?? 0);
        if (_training)
        {
            traffic.BytesSent += bytes;
            traffic.BytesReceived += back;
            traffic.WaitSeconds += waited;
            traffic.RoundTripSeconds += trip;
            traffic.Exchanges++;
        }
        else
        {
            traffic.LoadBytes += bytes + back;
            traffic.LoadSeconds += waited;
        }
        return tasks.Select(t => t.Result).ToArray();
    }
}
