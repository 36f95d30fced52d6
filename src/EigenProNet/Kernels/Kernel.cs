using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// A positive-definite kernel k(a, b) evaluated in blocks: <c>K(A, B)[i, j] = k(a_i, b_j)</c>.
/// A kernel implements its formula for one block; this base class provides validation, the allocating
/// conveniences and the fused, memory-bounded product <c>K(A, B)·W</c> every solver uses.
/// </summary>
public abstract class Kernel
{
    /// <summary>Short name, e.g. "laplace".</summary>
    public abstract string Name { get; }

    /// <summary>Human-readable description with parameters, e.g. "Laplace(L=5)".</summary>
    public abstract override string ToString();

    /// <summary>The exact value k(x, x) in float64 (β of the preconditioner is the maximum of these).</summary>
    public abstract double Diagonal(ReadOnlySpan<float> x);

    /// <summary>Input dimension the kernel requires, or null when any dimension works.</summary>
    public virtual int? RequiredDimension => null;

    /// <summary>
    /// Prepares <paramref name="points"/> for evaluation (computes the per-row statistic once).
    /// </summary>
    /// <exception cref="ArgumentException">A value is NaN or ±Inf, or the dimension does not fit the kernel.</exception>
    public KernelRows Prepare(MatrixView points, string argumentName = "points", ComputeContext? context = null)
    {
        context ??= ComputeContext.Default;
        if (RequiredDimension is int d && points.Columns != d)
            throw new ArgumentException($"{this} expects {d} features, found shape {points.Shape}.", argumentName);
        var features = Transform(points, context) ?? points;
        var stats = new float[points.Rows];
        ForEachRow(context, points.Rows, points.Columns, (r0, r1) =>
            ComputeStatistics(points.RowBlock(r0, r1 - r0), features.RowBlock(r0, r1 - r0), stats.AsSpan(r0, r1 - r0)));
        // The statistic is a (weighted) sum of squares: it is finite exactly when the row is (barring overflow).
        for (int i = 0; i < stats.Length; i++)
            if (!float.IsFinite(stats[i]))
                Guard.FiniteRow(points, i, argumentName);
        for (int i = 0; i < stats.Length; i++)
            if (!float.IsFinite(stats[i]))
                throw new ArgumentException($"Row {i} of {argumentName} is too large: its squared norm overflows float32.", argumentName);
        return new KernelRows(this, points, features, stats, 0);
    }

    /// <summary>Writes K(a, b) into <paramref name="output"/> (a.Count × b.Count).</summary>
    /// <exception cref="ArgumentException">Shapes disagree or the rows were prepared for another kernel.</exception>
    public void Evaluate(KernelRows a, KernelRows b, MatrixView output, ComputeContext? context = null)
    {
        CheckOwned(a, nameof(a));
        CheckOwned(b, nameof(b));
        if (a.Dimension != b.Dimension)
            throw new ArgumentException($"Expected b with {a.Dimension} features like a, found shape {b.Points.Shape}.", nameof(b));
        Guard.Shape(output, a.Count, b.Count, nameof(output));
        if (output.IsEmpty) return;
        ComputeBlock(a, b, output, context ?? ComputeContext.Default, null);
    }

    /// <summary>
    /// Writes the Gram matrix K(a, a) into <paramref name="output"/> (a.Count × a.Count), exactly symmetric: entries (i, j)
    /// and (j, i) come from different GEMM tiles whose float32 roundings differ — for a Mahalanobis kernel with an
    /// ill-conditioned learned M by 1.3e-4 relative (hill-valley), beyond what the Cholesky factorisation and the
    /// eigensolvers accept — so each pair is replaced by its mean.
    /// </summary>
    /// <exception cref="ArgumentException">The output's shape is not a.Count × a.Count, or the rows were prepared for another kernel.</exception>
    public void EvaluateSymmetric(KernelRows a, MatrixView output, ComputeContext? context = null)
    {
        Evaluate(a, a, output, context);
        // In 64×64 tiles so that the transposed accesses stay in cache.
        const int tile = 64;
        int n = a.Count;
        for (int i0 = 0; i0 < n; i0 += tile)
            for (int j0 = 0; j0 <= i0; j0 += tile)
                for (int i = i0; i < Math.Min(n, i0 + tile); i++)
                {
                    var row = output.Row(i);
                    for (int j = j0; j < Math.Min(i, j0 + tile); j++)
                    {
                        ref float mirror = ref output.RefAt(j, i);
                        float mean = 0.5f * (row[j] + mirror);
                        row[j] = mean;
                        mirror = mean;
                    }
                }
    }

    /// <summary>Writes K(a, b) into <paramref name="output"/>, preparing both operands.</summary>
    public void Evaluate(MatrixView a, MatrixView b, MatrixView output, ComputeContext? context = null) =>
        Evaluate(Prepare(a, nameof(a), context), Prepare(b, nameof(b), context), output, context);

    /// <summary>Returns K(a, b) as a new a.Rows × b.Rows matrix.</summary>
    public Matrix Evaluate(MatrixView a, MatrixView b, ComputeContext? context = null)
    {
        var output = new Matrix(a.Rows, b.Rows);
        Evaluate(a, b, output, context);
        return output;
    }

    /// <summary>
    /// output = K(a, b)·weights (+ output when <paramref name="accumulate"/>), never holding more than one block
    /// of K: blocks of rows of a × blocks of b, each block sized to <paramref name="budget"/>. With
    /// <paramref name="keepColumns"/>, the kernel values of those columns of b are also copied out as they pass
    /// (<paramref name="keptColumns"/>[i, t] = k(aᵢ, b[keepColumns[t]])): EigenPro 2's K(X_B, S) for S ⊂ X comes free.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, or a kept column is out of range or repeated.</exception>
    /// <exception cref="InvalidOperationException">The budget cannot hold even a small block.</exception>
    public void Multiply(KernelRows a, KernelRows b, MatrixView weights, MatrixView output, MemoryBudget? budget = null,
        bool accumulate = false, CancellationToken cancellationToken = default, ComputeContext? context = null,
        IReadOnlyList<int>? keepColumns = null, MatrixView keptColumns = default)
    {
        Guard.Rows(weights, b.Count, nameof(weights));
        int c = weights.Columns;
        // Wᵀ (c × n): the fused product reads, for each kernel row, c contiguous runs of it against one run of K.
        float[] weightsT = System.Buffers.ArrayPool<float>.Shared.Rent(c * b.Count);
        try
        {
            TransposeWeights(weights, weightsT);
            Multiply(a, b, weightsT, c, output, budget, accumulate, cancellationToken, context, keepColumns, keptColumns);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(weightsT);
        }
    }

    /// <summary>weightsT[o·n + j] = weights[j, o] for the n × c <paramref name="weights"/> (weightsT holds at least c·n values).</summary>
    internal static void TransposeWeights(MatrixView weights, Span<float> weightsT)
    {
        int n = weights.Rows, c = weights.Columns;
        for (int j = 0; j < n; j++)
        {
            var wj = weights.Row(j);
            for (int o = 0; o < c; o++) weightsT[o * n + j] = wj[o];
        }
    }

    /// <summary>
    /// <see cref="Multiply(KernelRows, KernelRows, MatrixView, MatrixView, MemoryBudget?, bool, CancellationToken, ComputeContext?, IReadOnlyList{int}?, MatrixView)"/>
    /// with the weights given transposed (c × b.Count, row-major in <paramref name="weightsT"/>): a caller that keeps
    /// them in that layout as it updates them (EigenPro's iteration) transposes nothing per product.
    /// </summary>
    internal void Multiply(KernelRows a, KernelRows b, float[] weightsT, int c, MatrixView output, MemoryBudget? budget = null,
        bool accumulate = false, CancellationToken cancellationToken = default, ComputeContext? context = null,
        IReadOnlyList<int>? keepColumns = null, MatrixView keptColumns = default)
    {
        context ??= ComputeContext.Default;
        CheckOwned(a, nameof(a));
        CheckOwned(b, nameof(b));
        if (weightsT.Length < (long)c * b.Count)
            throw new ArgumentException($"Expected {c} × {b.Count} transposed weights, found {weightsT.Length} values.", nameof(weightsT));
        Guard.Shape(output, a.Count, c, nameof(output));
        if (a.Dimension != b.Dimension)
            throw new ArgumentException($"Expected b with {a.Dimension} features like a, found shape {b.Points.Shape}.", nameof(b));
        if (keepColumns is not null) Guard.Shape(keptColumns, a.Count, keepColumns.Count, nameof(keptColumns));
        if (!accumulate) output.Fill(0f);
        if (a.Count == 0 || b.Count == 0) return;
        // The kept columns in ascending order with where each goes in keptColumns: a block copies only the few that
        // fall in its column range (EigenPro 2 keeps s of n, a few percent), not a scan of every column per row.
        int[]? keptOrder = null, keptSlot = null;
        if (keepColumns is { Count: > 0 })
        {
            keptOrder = keepColumns.ToArray();
            keptSlot = Enumerable.Range(0, keptOrder.Length).ToArray();
            Array.Sort(keptOrder, keptSlot);
            for (int t = 0; t < keptOrder.Length; t++)
                if ((uint)keptOrder[t] >= (uint)b.Count || (t > 0 && keptOrder[t] == keptOrder[t - 1]))
                    throw new ArgumentException($"Kept column {keptOrder[t]} is out of [0, {b.Count}) or repeated.", nameof(keepColumns));
        }
        if (c == 0 && keptOrder is null) return;
        var (rowsPerBlock, colsPerBlock) = BlockShape(a.Count, b.Count, budget ?? MemoryBudget.Default);
        int threads = context.Threads;
        // Solvers call this once per batch: the block comes from the shared pool, not a fresh allocation.
        float[] block = System.Buffers.ArrayPool<float>.Shared.Rent(rowsPerBlock * colsPerBlock);
        // K·W runs inside the kernel's GEMM on each finished block while it is in cache (the kernel block is never
        // read back from memory); the workers own different column blocks of the same rows, so each adds into its
        // own partial output, summed at the end.
        float[] partials = System.Buffers.ArrayPool<float>.Shared.Rent(threads * rowsPerBlock * c);
        try
        {
            for (int r0 = 0; r0 < a.Count; r0 += rowsPerBlock)
            {
                int rows = Math.Min(rowsPerBlock, a.Count - r0);
                var aBlock = a.Slice(r0, rows);
                var outBlock = output.RowBlock(r0, rows);
                Array.Clear(partials, 0, threads * rows * c);
                for (int c0 = 0; c0 < b.Count; c0 += colsPerBlock)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int cols = Math.Min(colsPerBlock, b.Count - c0);
                    var kBlock = new MatrixView(block, 0, rows, cols, cols);
                    void Product(int worker, int br, int brows, int bc, int bcols)
                    {
                        var wt = new MatrixView(weightsT, c0 + bc, c, bcols, b.Count);
                        // Kept columns [k0, k1) of keptOrder fall in this block's columns.
                        int k0 = 0, k1 = 0;
                        if (keptOrder is not null)
                        {
                            k0 = LowerBound(keptOrder, c0 + bc);
                            k1 = LowerBound(keptOrder, c0 + bc + bcols);
                        }
                        for (int i = br; i < br + brows; i++)
                        {
                            var kRow = kBlock.Row(i).Slice(bc, bcols);
                            if (c > 0) KernelRowProduct.Accumulate(context.Path, kRow, wt, partials.AsSpan((worker * rows + i) * c, c));
                            if (k0 == k1) continue;
                            var kept = keptColumns.Row(r0 + i);
                            for (int t = k0; t < k1; t++) kept[keptSlot![t]] = kRow[keptOrder![t] - c0 - bc];
                        }
                    }
                    ComputeBlock(aBlock, b.Slice(c0, cols), kBlock, context, Product);
                }
                for (int t = 0; t < threads; t++)
                    for (int i = 0; i < rows; i++)
                        System.Numerics.Tensors.TensorPrimitives.Add(outBlock.Row(i), partials.AsSpan((t * rows + i) * c, c), outBlock.Row(i));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(block);
            System.Buffers.ArrayPool<float>.Shared.Return(partials);
        }
    }

    /// <summary>The first index of the ascending, distinct <paramref name="sorted"/> whose value is ≥ <paramref name="value"/>.</summary>
    private static int LowerBound(int[] sorted, int value)
    {
        int i = Array.BinarySearch(sorted, value);
        return i >= 0 ? i : ~i;
    }

    /// <summary>Largest kernel block, whatever the budget: beyond it blocks buy no speed, and fresh pages cost time.</summary>
    internal const long MaxBlockBytes = 256L << 20;

    /// <summary>
    /// Rows × columns of one kernel block within the budget (and <see cref="MaxBlockBytes"/>): up to 2048 rows — a
    /// GEMM's worth, so the centers are packed once per row block — and as many columns as fit; whole rows when
    /// they all fit; with a tiny budget, 64-row blocks of as many columns as fit.
    /// </summary>
    internal static (int Rows, int Columns) BlockShape(int m, int n, MemoryBudget budget)
    {
        const int minRows = 64, gemmRows = 2048;
        long target = Math.Min(budget.Bytes, MaxBlockBytes);
        long wholeRows = target / (4L * n);
        if (wholeRows >= Math.Min(m, gemmRows)) return ((int)Math.Min(m, wholeRows), n);
        int rows = Math.Min(m, gemmRows);
        // Whole multiples of 64 columns: block starts then fall on panel boundaries, where packed centers can be read in place.
        long cols = target / (4L * rows) / 64 * 64;
        if (cols >= Math.Min(n, 1024)) return (rows, (int)cols);
        rows = Math.Min(m, minRows);
        return (rows, budget.RowsThatFit(4L * rows, n, Math.Min(n, 32), "a kernel block"));
    }

    private void CheckOwned(KernelRows rows, string name)
    {
        if (!ReferenceEquals(rows.Kernel, this))
            throw new ArgumentException($"Rows were prepared for {rows.Kernel}, not for {this}; call Prepare on this kernel.", name);
    }

    /// <summary>
    /// Computes the per-row statistic for <see cref="Prepare"/> (read back through <see cref="KernelRows.Statistics"/>),
    /// e.g. the squared norm of each row; the default leaves it 0. It must be finite for finite rows.
    /// </summary>
    protected virtual void ComputeStatistics(MatrixView points, Span<float> statistics) { }

    /// <summary>The statistic when it depends on the transformed rows (a distance kernel's squared norm of its features).</summary>
    private protected virtual void ComputeStatistics(MatrixView points, MatrixView features, Span<float> statistics) =>
        ComputeStatistics(points, statistics);

    /// <summary>The rows transformed once per <see cref="Prepare"/> (<see cref="KernelRows.Features"/>), or null for none.</summary>
    private protected virtual Matrix? Transform(MatrixView points, ComputeContext context) => null;

    /// <summary>
    /// Writes K(a, b) into <paramref name="output"/> (a.Count × b.Count; shapes and ownership are already checked).
    /// This is the one method a kernel written outside the library implements (with <see cref="ComputeStatistics(MatrixView, Span{float})"/>
    /// when it needs a per-row quantity). <paramref name="then"/>, when given, must run exactly once on every block of
    /// the output after the block holds its final kernel values — the fused product with W reads it there; pass it
    /// as the epilogue of <see cref="Gemm.Compute(Transpose, Transpose, float, MatrixView, MatrixView, float, MatrixView, ComputeContext, GemmEpilogue?)"/>
    /// (after the kernel's own elementwise work on the block), or call <c>then(0, 0, a.Count, 0, b.Count)</c> once at the end.
    /// </summary>
    protected abstract void ComputeBlock(KernelRows a, KernelRows b, MatrixView output, ComputeContext context, GemmEpilogue? then);

    /// <summary>Runs <paramref name="rangeBody"/>(start, end) over contiguous row ranges split across the worker threads.</summary>
    private protected static void ForEachRow(ComputeContext context, int rows, long workPerRow, Action<int, int> rangeBody)
    {
        int threads = (int)Math.Clamp(rows * workPerRow / 200_000, 1, context.Threads);
        threads = Math.Min(threads, Math.Max(1, rows));
        Parallelism.Run(threads, t =>
        {
            var (r0, r1) = Parallelism.Share(rows, t, threads);
            if (r1 > r0) rangeBody(r0, r1);
        });
    }

    /// <summary>Checks a bandwidth argument.</summary>
    private protected static double CheckBandwidth(double bandwidth, string name)
    {
        Guard.Positive(bandwidth, name);
        return bandwidth;
    }
}

/// <summary>out[o] += ⟨k, wᵀ[o]⟩ for every output o: one kernel row segment against the matching columns of Wᵀ.</summary>
internal static unsafe class KernelRowProduct
{
    public static void Accumulate(SimdPath path, ReadOnlySpan<float> k, MatrixView wt, Span<float> output)
    {
        switch (path)
        {
            case SimdPath.Vector512: Accumulate<Simd512<float>, System.Runtime.Intrinsics.Vector512<float>>(k, wt, output); break;
            case SimdPath.Vector256: Accumulate<Simd256<float>, System.Runtime.Intrinsics.Vector256<float>>(k, wt, output); break;
            case SimdPath.Vector128: Accumulate<Simd128<float>, System.Runtime.Intrinsics.Vector128<float>>(k, wt, output); break;
            default: Accumulate<SimdScalar<float>, float>(k, wt, output); break;
        }
    }

    /// <summary>Four outputs at a time: each vector of k is loaded once for four FMA chains.</summary>
    private static void Accumulate<O, V>(ReadOnlySpan<float> k, MatrixView wt, Span<float> output) where O : ISimdOps<V, float> where V : struct
    {
        int n = k.Length, c = output.Length, w = O.Count;
        float* lanes = stackalloc float[w];
        fixed (float* pk = k)
        fixed (float* pw = wt.Storage)
        {
            float* w0 = pw + wt.Offset;
            int o = 0;
            for (; o < c; o += 4)
            {
                int count = Math.Min(4, c - o);
                float* r0 = w0 + (long)o * wt.Stride;
                float* r1 = count > 1 ? r0 + wt.Stride : r0;
                float* r2 = count > 2 ? r1 + wt.Stride : r0;
                float* r3 = count > 3 ? r2 + wt.Stride : r0;
                V a0 = default, a1 = default, a2 = default, a3 = default;
                int j = 0;
                for (; j + w <= n; j += w)
                {
                    V x = O.Load(pk + j);
                    a0 = O.MultiplyAdd(x, O.Load(r0 + j), a0);
                    a1 = O.MultiplyAdd(x, O.Load(r1 + j), a1);
                    a2 = O.MultiplyAdd(x, O.Load(r2 + j), a2);
                    a3 = O.MultiplyAdd(x, O.Load(r3 + j), a3);
                }
                float s0 = Sum<O, V>(a0, lanes), s1 = Sum<O, V>(a1, lanes), s2 = Sum<O, V>(a2, lanes), s3 = Sum<O, V>(a3, lanes);
                for (; j < n; j++)
                {
                    s0 += pk[j] * r0[j]; s1 += pk[j] * r1[j]; s2 += pk[j] * r2[j]; s3 += pk[j] * r3[j];
                }
                output[o] += s0;
                if (count > 1) output[o + 1] += s1;
                if (count > 2) output[o + 2] += s2;
                if (count > 3) output[o + 3] += s3;
            }
        }
    }

    private static float Sum<O, V>(V v, float* lanes) where O : ISimdOps<V, float> where V : struct
    {
        O.Store(v, lanes);
        float s = 0;
        for (int t = 0; t < O.Count; t++) s += lanes[t];
        return s;
    }
}
