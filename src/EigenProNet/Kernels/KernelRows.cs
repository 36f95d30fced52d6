using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// Points prepared once for repeated kernel evaluation: the rows, the rows as the kernel computes with them
/// (<see cref="Features"/>: S·x with S = M^{1/2} for a Mahalanobis kernel, the points themselves otherwise) and the per-row quantity
/// the kernel needs (squared norm for distance kernels, squared M-norm for Mahalanobis, norm for the NTK). Solvers
/// prepare their centers and training rows once and evaluate many blocks against them; <see cref="Slice"/> gives
/// zero-copy row ranges.
/// </summary>
public sealed class KernelRows
{
    private readonly float[] _statistics;
    private readonly int _start;

    internal KernelRows(Kernel kernel, MatrixView points, MatrixView features, float[] statistics, int start,
        PackedPanels<float>? packedFeatures = null)
    {
        Kernel = kernel;
        Points = points;
        Features = features;
        _statistics = statistics;
        _start = start;
        PackedFeatures = packedFeatures;
    }

    /// <summary>
    /// <see cref="Features"/> packed once as the B operand of K(·, these rows) for one SIMD path, or null: products
    /// against these rows then read their blocks in place (see <see cref="WithPackedFeatures"/>).
    /// </summary>
    internal PackedPanels<float>? PackedFeatures { get; }

    /// <summary>Bytes <see cref="WithPackedFeatures"/> adds for these rows on <paramref name="path"/>.</summary>
    internal long PackedFeatureBytes(SimdPath path) => 4 * PackedPanels<float>.Elements(Count, Features.Columns, path);

    /// <summary>
    /// <see cref="WithPackedFeatures"/> when the packed copy fits in half of <paramref name="budget"/> (the rest is for
    /// the kernel blocks and batches), else these rows as they are: products give the same results either way.
    /// </summary>
    internal KernelRows PackedWithin(MemoryBudget budget, ComputeContext context) =>
        PackedCopyBytesWithin(budget, context.Path) > 0 ? WithPackedFeatures(context) : this;

    /// <summary>The bytes <see cref="PackedWithin"/> adds under <paramref name="budget"/>: the packed copy's, or 0 when it does not pack.</summary>
    internal long PackedCopyBytesWithin(MemoryBudget budget, SimdPath path) =>
        PackedFeatureBytes(path) is var bytes && bytes <= budget.Bytes / 2 ? bytes : 0;

    /// <summary>The bytes the packed copy these rows carry holds (0 when they carry none).</summary>
    internal long PackedCopyBytes => PackedFeatures is null ? 0 : 4L * PackedFeatures.Data.LongLength;

    /// <summary>
    /// The same rows with their features also packed for kernel products on <paramref name="context"/>'s path: for rows
    /// that are the centers of many products (EigenPro 2's training rows, every batch), at the cost of one more copy.
    /// </summary>
    internal KernelRows WithPackedFeatures(ComputeContext context) =>
        new(Kernel, Points, Features, _statistics, _start, PackedPanels<float>.PackTransposed(Gemm.Operand(Features), context));

    /// <summary>The kernel these rows were prepared for.</summary>
    public Kernel Kernel { get; }

    /// <summary>The points, one per row.</summary>
    public MatrixView Points { get; }

    /// <summary>
    /// The points transformed once by the kernel's feature map (for a Mahalanobis kernel row i is M^{1/2}·xᵢ, so
    /// ‖x − z‖_M is a Euclidean distance of features); the same view as <see cref="Points"/> for other kernels.
    /// </summary>
    public MatrixView Features { get; }

    /// <summary>Number of points.</summary>
    public int Count => Points.Rows;

    /// <summary>Feature dimension.</summary>
    public int Dimension => Points.Columns;

    /// <summary>The per-row statistic (see the class remarks), one per point.</summary>
    public ReadOnlySpan<float> Statistics => new(_statistics, _start, Points.Rows);

    /// <summary>True when <see cref="Features"/> is a transformed copy rather than the points themselves.</summary>
    internal bool IsTransformed => !ReferenceEquals(Features.Storage, Points.Storage);

    /// <summary>
    /// The rows <paramref name="indices"/>, copied with their features and statistics into <paramref name="buffer"/>:
    /// a batch of already prepared rows costs no kernel work (a Mahalanobis kernel's X·R is not recomputed).
    /// </summary>
    internal KernelRows Gather(ReadOnlySpan<int> indices, KernelRowsBuffer buffer)
    {
        int m = indices.Length;
        if (m > buffer.Capacity) throw new ArgumentException($"A batch of {m} rows exceeds the buffer's {buffer.Capacity}.", nameof(indices));
        var points = buffer.Points.View.RowBlock(0, m);
        for (int i = 0; i < m; i++) Points.Row(indices[i]).CopyTo(points.Row(i));
        var features = points;
        if (IsTransformed)
        {
            buffer.Features ??= new Matrix(buffer.Capacity, Features.Columns);
            features = buffer.Features.View.RowBlock(0, m);
            for (int i = 0; i < m; i++) Features.Row(indices[i]).CopyTo(features.Row(i));
        }
        var stats = Statistics;
        for (int i = 0; i < m; i++) buffer.Statistics[i] = stats[indices[i]];
        return new KernelRows(Kernel, points, features, buffer.Statistics, 0);
    }

    /// <summary>Rows [start, start + count) without copying.</summary>
    public KernelRows Slice(int start, int count) =>
        new(Kernel, Points.RowBlock(start, count), Features.RowBlock(start, count), _statistics, _start + start, PackedFeatures?.Slice(start, count));
}

/// <summary>Caller-owned storage for <see cref="KernelRows.Gather"/>: up to <see cref="Capacity"/> rows of dimension d.</summary>
internal sealed class KernelRowsBuffer(int capacity, int dimension)
{
    public int Capacity { get; } = capacity;
    public Matrix Points { get; } = new(capacity, dimension);
    public Matrix? Features { get; set; }
    public float[] Statistics { get; } = new float[capacity];

    /// <summary>Copies the prepared <paramref name="rows"/> (points, features, statistics) to rows [at, at + count).</summary>
    public void Append(KernelRows rows, int at)
    {
        int m = rows.Count;
        if (at < 0 || at + m > Capacity) throw new ArgumentException($"Rows [{at}, {at + m}) exceed the buffer's {Capacity}.", nameof(at));
        for (int i = 0; i < m; i++) rows.Points.Row(i).CopyTo(Points.Row(at + i));
        if (rows.IsTransformed)
        {
            Features ??= new Matrix(Capacity, rows.Features.Columns);
            for (int i = 0; i < m; i++) rows.Features.Row(i).CopyTo(Features.Row(at + i));
        }
        rows.Statistics.CopyTo(Statistics.AsSpan(at, m));
    }

    /// <summary>The first <paramref name="count"/> rows as prepared rows for <paramref name="kernel"/> (no copy).</summary>
    public KernelRows Rows(Kernel kernel, int count)
    {
        var points = Points.View.RowBlock(0, count);
        return new KernelRows(kernel, points, Features is null ? points : Features.View.RowBlock(0, count), Statistics, 0);
    }
}
