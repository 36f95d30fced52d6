using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;

namespace EigenProNet.LinearAlgebra;

/// <summary>Whether an operand enters a product as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>Use the matrix as stored.</summary>
    No,
    /// <summary>Use the transpose of the stored matrix.</summary>
    Yes,
}

/// <summary>
/// General matrix multiply <c>C = α·op(A)·op(B) + β·C</c> in float32, and the symmetric rank-k update, on the
/// packed driver shared with the float64 GEMM (<see cref="GemmDriver{T}"/>). With β = 0, C is never read (NaN in C
/// does not propagate), as in BLAS.
/// </summary>
public static class Gemm
{
    /// <summary>C = α·op(A)·op(B) + β·C on the threads and SIMD path of <paramref name="context"/> (default: all cores, widest path).</summary>
    /// <exception cref="ArgumentException">Shapes do not conform, or C overlaps A or B.</exception>
    public static void Compute(Transpose transA, Transpose transB, float alpha, MatrixView a, MatrixView b, float beta, MatrixView c,
        ComputeContext? context = null) =>
        Compute(transA, transB, alpha, a, b, beta, c, context ?? ComputeContext.Default, null);

    /// <summary>
    /// The product, with <paramref name="epilogue"/> run on each finished block of C while it is in cache (how a kernel
    /// applies its elementwise formula without another pass over memory).
    /// </summary>
    public static void Compute(Transpose transA, Transpose transB, float alpha, MatrixView a, MatrixView b, float beta, MatrixView c,
        ComputeContext context, GemmEpilogue? epilogue) =>
        Compute(transA, transB, alpha, a, b, beta, c, context, epilogue, null);

    /// <summary>
    /// The product with op(B) = Bᵀ already packed (<paramref name="packedB"/>, made from <paramref name="b"/> by
    /// <see cref="PackedPanels{T}.PackTransposed"/>): used when it matches this product and path, ignored otherwise.
    /// </summary>
    internal static void Compute(Transpose transA, Transpose transB, float alpha, MatrixView a, MatrixView b, float beta, MatrixView c,
        ComputeContext context, GemmEpilogue? epilogue, PackedPanels<float>? packedB)
    {
        if (Overlaps(c, a) || Overlaps(c, b))
            throw new ArgumentException("C must not share storage with A or B.", nameof(c));
        Guard.Finite(alpha, nameof(alpha));
        Guard.Finite(beta, nameof(beta));
        GemmDriver<float>.Run(transA, transB, alpha, Operand(a), Operand(b), beta, Operand(c), context, Triangle.Full, epilogue, packedB);
    }

    /// <summary>Returns op(A)·op(B) as a new matrix.</summary>
    public static Matrix Multiply(MatrixView a, MatrixView b, Transpose transA = Transpose.No, Transpose transB = Transpose.No,
        ComputeContext? context = null)
    {
        int m = transA == Transpose.No ? a.Rows : a.Columns;
        int n = transB == Transpose.No ? b.Columns : b.Rows;
        var c = new Matrix(m, n);
        Compute(transA, transB, 1f, a, b, 0f, c, context);
        return c;
    }

    /// <summary>
    /// Symmetric rank-k update: C = α·A·Aᵀ + β·C (<paramref name="trans"/> = No, A is n×k) or C = α·Aᵀ·A + β·C
    /// (Yes, A is k×n). Only tiles on or below the diagonal are computed; the result is mirrored, so C comes back
    /// full and exactly symmetric. The upper triangle of the input C is ignored (C is taken as symmetric).
    /// </summary>
    public static void SymmetricRankK(Transpose trans, float alpha, MatrixView a, float beta, MatrixView c, ComputeContext? context = null) =>
        SymmetricRankK(trans, alpha, a, beta, c, context ?? ComputeContext.Default, mirror: true);

    // mirror = false leaves the strict upper triangle unspecified: callers that read only the lower one (Cholesky)
    // skip the column-strided copy.
    internal static void SymmetricRankK(Transpose trans, float alpha, MatrixView a, float beta, MatrixView c, ComputeContext context, bool mirror)
    {
        var other = trans == Transpose.No ? Transpose.Yes : Transpose.No;
        int n = trans == Transpose.No ? a.Rows : a.Columns;
        Guard.Shape(c, n, n, nameof(c));
        if (Overlaps(c, a)) throw new ArgumentException("C must not share storage with A.", nameof(c));
        Guard.Finite(alpha, nameof(alpha));
        Guard.Finite(beta, nameof(beta));
        // Tiles crossing the diagonal also compute some upper elements from the (ignored) upper input; the lower
        // triangle never depends on them, and the mirror below overwrites them.
        GemmDriver<float>.Run(trans, other, alpha, Operand(a), Operand(a), beta, Operand(c), context, Triangle.Lower);
        if (mirror) MirrorLowerToUpper(c);
    }

    internal static GemmOperand<float> Operand(MatrixView v) => new(v.Storage, v.Offset, v.Rows, v.Columns, v.Stride);

    private static void MirrorLowerToUpper(MatrixView c)
    {
        for (int i = 0; i < c.Rows; i++)
            for (int j = i + 1; j < c.Columns; j++)
                c.RefAt(i, j) = c.RefAt(j, i);
    }

    private static bool Overlaps(MatrixView c, MatrixView x)
    {
        if (!ReferenceEquals(c.Storage, x.Storage) || c.IsEmpty || x.IsEmpty) return false;
        int stride = c.Stride;
        if (x.Stride == stride && c.Offset % stride + c.Columns <= stride && x.Offset % stride + x.Columns <= stride)
        {
            // Blocks of one row-major matrix (neither wraps past a row end): disjoint unless both their row and
            // their column ranges meet.
            int cr = c.Offset / stride, cc = c.Offset % stride, xr = x.Offset / stride, xc = x.Offset % stride;
            bool rowsMeet = cr < xr + x.Rows && xr < cr + c.Rows;
            bool colsMeet = cc < xc + x.Columns && xc < cc + c.Columns;
            return rowsMeet && colsMeet;
        }
        long c0 = c.Offset, c1 = c.Offset + (long)(c.Rows - 1) * c.Stride + c.Columns;
        long x0 = x.Offset, x1 = x.Offset + (long)(x.Rows - 1) * x.Stride + x.Columns;
        return c0 < x1 && x0 < c1;
    }
}

/// <summary>Which tiles of a square C a product computes.</summary>
internal enum Triangle
{
    /// <summary>Every tile.</summary>
    Full,
    /// <summary>Only tiles that touch the lower triangle (the symmetric rank-k update).</summary>
    Lower,
    /// <summary>Only tiles that touch the upper triangle (the eigensolver's symmetric updates).</summary>
    Upper,
}

/// <summary>A row-major block of a T array: element (i, j) at <c>Data[Offset + i·Stride + j]</c>.</summary>
internal readonly record struct GemmOperand<T>(T[] Data, long Offset, int Rows, int Columns, int Stride);

/// <summary>
/// op(B) = Bᵀ of a fixed row-major B (n rows of depth k: the centers of a kernel product) packed once in the
/// micro-kernel's panel layout of one SIMD path, so that products with it read their B blocks in place. EigenPro 2
/// multiplies every batch by the same training rows, and re-packing them was 6–12 % of each product.
/// Layout: K slab after K slab (depths as the driver cuts k), each holding the NR-column panels of all n columns,
/// panel p at (slab start)·NR·panels + p·NR·(slab depth). A <see cref="Slice"/> shares the data.
/// </summary>
internal sealed unsafe class PackedPanels<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly GemmKernel<T> _kernel;
    private readonly int _panels, _panelOffset, _slab;

    private PackedPanels(GemmKernel<T> kernel, T[] data, int depth, int columns, int slab, int panels, int panelOffset)
    {
        _kernel = kernel;
        Data = data;
        Depth = depth;
        Columns = columns;
        _slab = slab;
        _panels = panels;
        _panelOffset = panelOffset;
    }

    /// <summary>The packed elements (shared by slices).</summary>
    public T[] Data { get; }

    /// <summary>k: the depth of the product (B's columns).</summary>
    public int Depth { get; }

    /// <summary>n: the columns of op(B) this view covers (B's rows).</summary>
    public int Columns { get; }

    /// <summary>Elements a packing of n rows of depth k takes on <paramref name="path"/> (n rounded up to whole panels).</summary>
    public static long Elements(int n, int k, SimdPath path) => (long)GemmDriver<T>.RoundUp(n, GemmKernel<T>.For(path).NR) * k;

    /// <summary>Packs Bᵀ for products on <paramref name="context"/>'s path, the threads sharing the panels.</summary>
    public static PackedPanels<T> PackTransposed(GemmOperand<T> b, ComputeContext context)
    {
        var kernel = GemmKernel<T>.For(context.Path);
        int n = b.Rows, k = b.Columns, nr = kernel.NR;
        int panels = (n + nr - 1) / nr, slab = GemmDriver<T>.SlabDepth(kernel, Math.Max(k, 1));
        long elements = Elements(n, k, context.Path);
        if (elements > Array.MaxLength)
            throw new ArgumentException($"{n} × {k} values are too many to pack in one array.", nameof(b));
        var data = GC.AllocateUninitializedArray<T>((int)elements);
        int threads = Math.Max(1, Math.Min(context.Threads, panels));
        Parallelism.Run(threads, t =>
        {
            var (p0, p1) = Parallelism.Share(panels, t, threads);
            if (p1 <= p0) return;
            int col0 = p0 * nr, cols = Math.Min(n, p1 * nr) - col0;
            fixed (T* d = data)
                for (int pc = 0; pc < k; pc += slab)
                {
                    int depth = Math.Min(slab, k - pc);
                    GemmDriver<T>.PackBColumns(kernel, Transpose.Yes, b, pc, depth, col0, cols, d + (long)pc * panels * nr + (long)p0 * nr * depth);
                }
        });
        return new PackedPanels<T>(kernel, data, k, n, slab, panels, 0);
    }

    /// <summary>Columns [start, start + count) sharing the data, or null when start is not on a panel boundary.</summary>
    public PackedPanels<T>? Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Columns)
            throw new ArgumentOutOfRangeException(nameof(start), $"Columns [{start}, {start + count}) are outside [0, {Columns}).");
        return start % _kernel.NR == 0 ? new PackedPanels<T>(_kernel, Data, Depth, count, _slab, _panels, _panelOffset + start / _kernel.NR) : null;
    }

    /// <summary>Whether a product with this kernel, depth k, n columns and slab depth kc can read these panels.</summary>
    internal bool Matches(GemmKernel<T> kernel, int k, int n, int kc) =>
        ReferenceEquals(kernel, _kernel) && k == Depth && n == Columns && kc == _slab;

    /// <summary>Where the block of the slab at <paramref name="pc"/> (depth <paramref name="kc"/>) starting at column <paramref name="col0"/> begins.</summary>
    internal long BlockOffset(int pc, int kc, int col0) =>
        (long)pc * _panels * _kernel.NR + (long)(_panelOffset + col0 / _kernel.NR) * _kernel.NR * kc;
}

/// <summary>
/// Work on a finished block of C — rows [row0, row0 + rows) × columns [col0, col0 + columns) — run by one of the GEMM's
/// own workers right after the block's last K slab, while it is still in that core's cache (the kernels' elementwise
/// tails). Blocks partition C; each is handed over once. <paramref name="worker"/> (0 ≤ worker &lt; the context's
/// threads) is a slot no concurrent call shares, for per-slot scratch or partial sums; in a full product it names the
/// share of the work, so each slot gets the same blocks in every run and sums per slot are reproducible.
/// </summary>
public delegate void GemmEpilogue(int worker, int row0, int rows, int col0, int columns);

/// <summary>
/// The packed GEMM driver, written once for float and double: <c>C = α·op(A)·op(B) + β·C</c> for row-major C.
/// </summary>
/// <remarks>
/// Layout follows Goto/BLIS: the K dimension is cut into KC-deep slabs; op(A) is packed in MC-row blocks of MR-row
/// micro-panels (the broadcast operand; one micro-panel stays in L1 while the micro-kernel sweeps a B block), op(B)
/// in NC-column blocks of NR-column micro-panels (the vector operand, streamed from the private L2 of each core).
/// Threads split the N range of each block (and the M range too when N is narrow), so each core packs its own B
/// block into its own L2. Pack buffers come from the shared array pool: no allocation in steady state.
/// </remarks>
internal static unsafe class GemmDriver<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    public static void Run(Transpose transA, Transpose transB, T alpha, GemmOperand<T> a, GemmOperand<T> b, T beta, GemmOperand<T> c,
        ComputeContext context, Triangle triangle, GemmEpilogue? epilogue = null, PackedPanels<T>? packedB = null) =>
        Run(transA, transB, alpha, a, b, beta, c, context, triangle, GemmKernel<T>.For(context.Path), epilogue, packedB);

    /// <summary>The product with an explicit micro-kernel and blocking (tests run it with the blocking of other caches).</summary>
    internal static void Run(Transpose transA, Transpose transB, T alpha, GemmOperand<T> a, GemmOperand<T> b, T beta, GemmOperand<T> c,
        ComputeContext context, Triangle triangle, GemmKernel<T> kernel, GemmEpilogue? epilogue = null, PackedPanels<T>? packedB = null)
    {
        int m = transA == Transpose.No ? a.Rows : a.Columns;
        int k = transA == Transpose.No ? a.Columns : a.Rows;
        int kb = transB == Transpose.No ? b.Rows : b.Columns;
        int n = transB == Transpose.No ? b.Columns : b.Rows;
        if (kb != k)
            throw new ArgumentException(
                $"Inner dimensions differ: op(A) is ({m}, {k}) but op(B) is ({kb}, {n}) (A ({a.Rows}, {a.Columns}) transA={transA}, B ({b.Rows}, {b.Columns}) transB={transB}).",
                nameof(b));
        if (c.Rows != m || c.Columns != n)
            throw new ArgumentException($"Expected c of shape ({m}, {n}), found ({c.Rows}, {c.Columns}).", nameof(c));
        if (m == 0 || n == 0) return;
        if (k == 0 || T.IsZero(alpha))
        {
            ScaleC(c, beta);
            epilogue?.Invoke(0, 0, m, 0, n);
            return;
        }

        // About 4 MFLOP per thread before a second thread pays for its start-up.
        long flops = 2L * m * n * k;
        int threads = (int)Math.Clamp(flops / 4_000_000, 1, context.Threads);

        int mc = Math.Min(kernel.MC, RoundUp(m, kernel.MR));
        // Equal slabs: C is swept once per slab, so a thin last one costs a full sweep.
        int kc = SlabDepth(kernel, k);
        int nc = Math.Min(kernel.NC, RoundUp(n, kernel.NR));
        // B packed beforehand for exactly this product: its blocks are read in place, not copied per product.
        if (packedB is not null && !(transB == Transpose.Yes && triangle == Triangle.Full && packedB.Matches(kernel, k, n, kc))) packedB = null;
        // Full products on several threads cut N into a multiple of the threads of blocks whose widths differ by at
        // most one micro-panel, so each thread's share is the same number of panels (equal widths of whole panels
        // left a ragged last block: at N = 2048, 1120 columns for one thread and 928 for the other).
        int evenBlocks = 0;
        if (triangle == Triangle.Full && threads > 1)
        {
            int panels = (n + kernel.NR - 1) / kernel.NR;
            evenBlocks = Math.Min(panels, RoundUp((n + nc - 1) / nc, threads));
            nc = (panels + evenBlocks - 1) / evenBlocks * kernel.NR;
        }
        // Two A blocks, alternating by step: a worker done with its share of one step packs the next step's A while
        // the others still multiply with this one, so packing overlaps a late (or descheduled) worker's products.
        T[] packA = ArrayPool<T>.Shared.Rent(2 * mc * kc);
        // One team of workers for the whole product (a thread-pool fork-join per K slab pays a thread wake-up each
        // time). Within each (MC block, KC slab) step the workers claim A panels to pack, wait until all are packed,
        // then, once every task of the previous step is done (they wrote the C blocks this step adds to), claim the step's tasks.
        // Work is claimed, never assigned, and a worker only waits for work another running worker has claimed, so
        // the product completes however many of the workers the scheduler actually runs at once.
        int rowBlocks = (m + mc - 1) / mc, slabs = (k + kc - 1) / kc;
        var counters = new int[rowBlocks * slabs * 4];   // per step: panels claimed, panels packed, tasks claimed, tasks done
        try
        {
            Parallelism.Run(threads, t =>
            {
                T[] packB = ArrayPool<T>.Shared.Rent(packedB is null ? nc * kc : 1);
                try
                {
                    fixed (T* paBase = packA)
                    fixed (T* pb = packB)
                    fixed (T* pp = packedB?.Data)
                    {
                        int step = 0, previousTasks = 0;
                        for (int ic = 0; ic < m; ic += mc)
                        {
                            int mcCur = Math.Min(mc, m - ic);
                            int mPanels = (mcCur + kernel.MR - 1) / kernel.MR;
                            // Lower: rows ic.. need no columns beyond ic+mcCur. Upper: NC blocks left of this row block lie below the diagonal.
                            int nStart = triangle == Triangle.Upper ? ic / nc * nc : 0;
                            int nEnd = triangle == Triangle.Lower ? Math.Min(n, ic + mcCur) : n;
                            int ncBlocks = evenBlocks > 0 ? evenBlocks : (nEnd - nStart + nc - 1) / nc;
                            // When N is narrow, split the M panels too so every thread has work. A triangle's B blocks hold
                            // very different amounts of work (at 768 rows: 194, 92 and 8 thousand lower elements), so
                            // there the rows are always cut into 4 groups per thread and the tasks dealt one at a time.
                            int mGroups = triangle == Triangle.Full || threads == 1
                                ? Math.Max(1, Math.Min(mPanels, (threads + ncBlocks - 1) / ncBlocks))
                                : Math.Min(mPanels, 4 * threads);
                            int tasks = ncBlocks * mGroups;
                            // Claims come in one contiguous share per worker (consecutive tasks share a packed B block);
                            // in a triangle the work per B block grows along N, so there tasks are claimed one at a time.
                            int packChunk = Math.Max(1, (mPanels + threads - 1) / threads);
                            int packChunks = (mPanels + packChunk - 1) / packChunk;
                            int taskChunk = triangle == Triangle.Full ? Math.Max(1, (tasks + threads - 1) / threads) : 1;
                            int taskChunks = (tasks + taskChunk - 1) / taskChunk;
                            for (int pc = 0; pc < k; pc += kc, step++)
                            {
                                int kcCur = Math.Min(kc, k - pc);
                                T betaCur = pc == 0 ? beta : T.One;
                                var job = new Job(kernel, transA, transB, alpha, betaCur, a, b, c, ic, mcCur, pc, kcCur, nc, evenBlocks, nStart, nEnd, triangle);
                                ref int panelsClaimed = ref counters[4 * step], panelsPacked = ref counters[4 * step + 1];
                                ref int tasksClaimed = ref counters[4 * step + 2], tasksDone = ref counters[4 * step + 3];
                                // This A buffer was last read by the step before last, whose products were done before the
                                // last step's began (the wait below, one step ago).
                                T* pa = paBase + (step & 1) * (long)mc * kc;
                                for (int chunk; (chunk = Interlocked.Increment(ref panelsClaimed) - 1) < packChunks;)
                                {
                                    int p0 = chunk * packChunk, p1 = Math.Min(mPanels, p0 + packChunk);
                                    job.PackA(pa, p0, p1);
                                    Interlocked.Add(ref panelsPacked, p1 - p0);
                                }
                                Parallelism.WaitFor(ref panelsPacked, mPanels);
                                // The last step's products must be done with C (this step adds to the blocks they wrote).
                                if (step > 0) Parallelism.WaitFor(ref counters[4 * step - 1], previousTasks);
                                int packed = -1;
                                for (int chunk; (chunk = Interlocked.Increment(ref tasksClaimed) - 1) < taskChunks;)
                                {
                                    int task1 = Math.Min(tasks, (chunk + 1) * taskChunk);
                                    for (int task = chunk * taskChunk; task < task1; task++)
                                    {
                                        int jb = task / mGroups, g = task % mGroups;
                                        T* bBlock = pb;
                                        if (packedB is not null) bBlock = pp + packedB.BlockOffset(pc, kcCur, job.Block(jb).Col0);
                                        else if (jb != packed) { job.PackB(pb, jb); packed = jb; }
                                        var (g0, g1) = Parallelism.Share(mPanels, g, mGroups);
                                        job.Multiply(pa, bBlock, jb, g0, g1);
                                        if (epilogue is not null && pc + kcCur == k && g1 > g0)
                                        {
                                            int r0 = ic + g0 * kernel.MR;
                                            var (c0, width) = job.Block(jb);
                                            // Full products hand over the index of the claimed share, not of the worker that
                                            // claimed it: which blocks a slot gets is then the same in every run.
                                            int slot = triangle == Triangle.Full ? chunk : t;
                                            epilogue(slot, r0, Math.Min(ic + mcCur, ic + g1 * kernel.MR) - r0, c0, width);
                                        }
                                    }
                                    Interlocked.Add(ref tasksDone, task1 - chunk * taskChunk);
                                }
                                previousTasks = tasks;
                            }
                        }
                    }
                }
                finally { ArrayPool<T>.Shared.Return(packB); }
            });
        }
        finally { ArrayPool<T>.Shared.Return(packA); }
    }

    internal static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>The depth of the K slabs: equal slabs of at most KC (784 = 3 × 264, not 384 + 384 + 16), multiples of 8.</summary>
    internal static int SlabDepth(GemmKernel<T> kernel, int k) =>
        Math.Min(kernel.KC, RoundUp((k + (k + kernel.KC - 1) / kernel.KC - 1) / ((k + kernel.KC - 1) / kernel.KC), 8));

    /// <summary>Packs op(B)'s columns [col0, col0 + cols) of the K slab at <paramref name="pc"/> into panels at <paramref name="dst"/>.</summary>
    internal static void PackBColumns(GemmKernel<T> kernel, Transpose transB, GemmOperand<T> b, int pc, int kc, int col0, int cols, T* dst)
    {
        var job = new Job(kernel, Transpose.No, transB, T.One, T.Zero, default, b, default, 0, 0, pc, kc, cols, 0, col0, col0 + cols, Triangle.Full);
        job.PackB(dst, 0);
    }

    private static void ScaleC(GemmOperand<T> c, T beta)
    {
        for (int i = 0; i < c.Rows; i++)
        {
            var row = c.Data.AsSpan((int)(c.Offset + (long)i * c.Stride), c.Columns);
            if (T.IsZero(beta)) row.Clear();
            else if (beta != T.One) for (int j = 0; j < row.Length; j++) row[j] *= beta;
        }
    }

    /// <summary>One (MC-block, KC-slab) step of the product: packing and the macro-kernel loops.</summary>
    private readonly struct Job(
        GemmKernel<T> kernel, Transpose transA, Transpose transB, T alpha, T beta, GemmOperand<T> a, GemmOperand<T> b, GemmOperand<T> c,
        int ic, int mc, int pc, int kc, int nc, int evenBlocks, int nStart, int nEnd, Triangle triangle)
    {
        /// <summary>
        /// Columns of B block <paramref name="jb"/>: NC wide from nStart (the last one ragged), or, when
        /// evenBlocks &gt; 0, the jb-th of that many near-equal runs of whole micro-panels.
        /// </summary>
        public (int Col0, int Columns) Block(int jb)
        {
            if (evenBlocks == 0) return (nStart + jb * nc, Math.Min(nc, nEnd - (nStart + jb * nc)));
            var (p0, p1) = Parallelism.Share((nEnd - nStart + kernel.NR - 1) / kernel.NR, jb, evenBlocks);
            int col0 = nStart + p0 * kernel.NR;
            return (col0, Math.Min(nEnd, nStart + p1 * kernel.NR) - col0);
        }

        // The packing loops copy the job's fields into locals first: writes through a T* may alias the job, so the
        // JIT would otherwise reload every bound and stride from memory on each element (measured: 13 % of a GEMM).

        /// <summary>Packs MR-row micro-panels [p0, p1) of op(A)[ic.., pc..]: panel p holds, for each k, MR consecutive values.</summary>
        public void PackA(T* dst, int p0, int p1)
        {
            int mr = kernel.MR, depth = kc, rowsTotal = ic + mc, first = ic, col0 = pc;
            long offset = a.Offset, stride = a.Stride;
            bool transposed = transA == Transpose.Yes;
            fixed (T* src = a.Data)
            {
                for (int p = p0; p < p1; p++)
                {
                    T* d = dst + (long)p * mr * depth;
                    int row0 = first + p * mr;
                    int rows = Math.Min(mr, rowsTotal - row0);
                    if (!transposed && rows == 6 && mr == 6)
                    {
                        // Whole panels of the register tile's height: one element of each row per k, stored in order.
                        T* s0 = src + offset + row0 * stride + col0, s1 = s0 + stride, s2 = s1 + stride;
                        T* s3 = s2 + stride, s4 = s3 + stride, s5 = s4 + stride;
                        for (int kk = 0; kk < depth; kk++, d += 6)
                        {
                            d[0] = s0[kk]; d[1] = s1[kk]; d[2] = s2[kk]; d[3] = s3[kk]; d[4] = s4[kk]; d[5] = s5[kk];
                        }
                    }
                    else if (!transposed && rows == 12 && mr == 12)
                    {
                        T* s0 = src + offset + row0 * stride + col0, s6 = s0 + 6 * stride;
                        int kk = 0;
                        if (typeof(T) == typeof(float) && System.Runtime.Intrinsics.X86.Avx.IsSupported)
                        {
                            kk = PackPanel12(s0, stride, d, depth);
                            d += 12 * kk;
                        }
                        for (; kk < depth; kk++, d += 12)
                        {
                            T* t = s0 + kk;
                            d[0] = t[0]; d[1] = t[stride]; d[2] = t[2 * stride]; d[3] = t[3 * stride]; d[4] = t[4 * stride]; d[5] = t[5 * stride];
                            t = s6 + kk;
                            d[6] = t[0]; d[7] = t[stride]; d[8] = t[2 * stride]; d[9] = t[3 * stride]; d[10] = t[4 * stride]; d[11] = t[5 * stride];
                        }
                    }
                    else if (!transposed)
                    {
                        for (int r = 0; r < rows; r++)
                        {
                            T* s = src + offset + (row0 + r) * stride + col0;
                            T* dr = d + r;
                            for (int kk = 0; kk < depth; kk++) dr[kk * mr] = s[kk];
                        }
                    }
                    else
                    {
                        for (int kk = 0; kk < depth; kk++)
                            CopyRun(src + offset + (col0 + kk) * stride + row0, d + kk * mr, rows);
                    }
                    if (rows < mr)
                        for (int kk = 0; kk < depth; kk++)
                            for (int r = rows; r < mr; r++) d[kk * mr + r] = T.Zero;
                }
            }
        }

        /// <summary>
        /// The 12-row float panel in 8-deep steps: two AVX transposes (rows 0–7 as 8×8, rows 8–11 as 4×8) in registers
        /// instead of 96 scalar loads and stores; returns the depth done (a multiple of 8), the caller finishes the rest.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int PackPanel12(T* source, long stride, T* destination, int depth)
        {
            float* s = (float*)source, d = (float*)destination;
            int kk = 0;
            for (; kk + 8 <= depth; kk += 8, s += 8, d += 96)
            {
                var (o0, o1, o2, o3, o4, o5, o6, o7) = RegisterTranspose.Transpose8(s, stride);
                System.Runtime.Intrinsics.X86.Avx.Store(d, o0); System.Runtime.Intrinsics.X86.Avx.Store(d + 12, o1);
                System.Runtime.Intrinsics.X86.Avx.Store(d + 24, o2); System.Runtime.Intrinsics.X86.Avx.Store(d + 36, o3);
                System.Runtime.Intrinsics.X86.Avx.Store(d + 48, o4); System.Runtime.Intrinsics.X86.Avx.Store(d + 60, o5);
                System.Runtime.Intrinsics.X86.Avx.Store(d + 72, o6); System.Runtime.Intrinsics.X86.Avx.Store(d + 84, o7);
                var (u0, u1, u2, u3) = RegisterTranspose.Transpose4(s + 8 * stride, stride);
                System.Runtime.Intrinsics.X86.Sse.Store(d + 8, u0.GetLower()); System.Runtime.Intrinsics.X86.Sse.Store(d + 20, u1.GetLower());
                System.Runtime.Intrinsics.X86.Sse.Store(d + 32, u2.GetLower()); System.Runtime.Intrinsics.X86.Sse.Store(d + 44, u3.GetLower());
                System.Runtime.Intrinsics.X86.Sse.Store(d + 56, u0.GetUpper()); System.Runtime.Intrinsics.X86.Sse.Store(d + 68, u1.GetUpper());
                System.Runtime.Intrinsics.X86.Sse.Store(d + 80, u2.GetUpper()); System.Runtime.Intrinsics.X86.Sse.Store(d + 92, u3.GetUpper());
            }
            return kk;
        }

        /// <summary>Packs NC-block <paramref name="jb"/> of op(B)[pc.., ..] into NR-column micro-panels.</summary>
        public void PackB(T* dst, int jb)
        {
            int nr = kernel.NR, depth = kc, row0 = pc;
            var (col0, cols) = Block(jb);
            int panels = (cols + nr - 1) / nr;
            long offset = b.Offset, stride = b.Stride;
            fixed (T* src = b.Data)
            {
                if (transB == Transpose.No)
                {
                    // Row by row of B, each row segment dealt out to the panels: the reads stream along memory.
                    for (int kk = 0; kk < depth; kk++)
                    {
                        T* s = src + offset + (row0 + kk) * stride + col0;
                        // Each row's run is short (NC values) and a stride away from the last, which the hardware
                        // prefetcher does not follow: fetch the run eight rows ahead.
                        if (System.Runtime.Intrinsics.X86.Sse.IsSupported && kk + 8 < depth)
                        {
                            byte* ahead = (byte*)(s + 8 * stride);
                            for (int line = 0; line < cols * sizeof(T); line += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(ahead + line);
                        }
                        for (int p = 0; p < panels; p++)
                        {
                            T* d = dst + (long)p * nr * depth + kk * nr;
                            int w = Math.Min(nr, cols - p * nr);
                            CopyRun(s + p * nr, d, w);
                            for (int j = w; j < nr; j++) d[j] = T.Zero;
                        }
                    }
                }
                else
                {
                    for (int p = 0; p < panels; p++)
                    {
                        T* d = dst + (long)p * nr * depth;
                        int j0 = col0 + p * nr;
                        int w = Math.Min(nr, col0 + cols - j0);
                        int kStart = 0;
                        if (typeof(T) == typeof(float) && System.Runtime.Intrinsics.X86.Avx.IsSupported && w == nr && nr % 8 == 0)
                        {
                            // Whole float panels 8 k-steps at a time: one 8×8 register transpose per 8 columns.
                            for (; kStart + 8 <= depth; kStart += 8)
                                for (int j = 0; j < nr; j += 8)
                                {
                                    var (o0, o1, o2, o3, o4, o5, o6, o7) = RegisterTranspose.Transpose8((float*)(src + offset + (j0 + j) * stride + row0 + kStart), stride);
                                    float* dd = (float*)(d + kStart * nr + j);
                                    System.Runtime.Intrinsics.X86.Avx.Store(dd, o0); System.Runtime.Intrinsics.X86.Avx.Store(dd + nr, o1);
                                    System.Runtime.Intrinsics.X86.Avx.Store(dd + 2 * nr, o2); System.Runtime.Intrinsics.X86.Avx.Store(dd + 3 * nr, o3);
                                    System.Runtime.Intrinsics.X86.Avx.Store(dd + 4 * nr, o4); System.Runtime.Intrinsics.X86.Avx.Store(dd + 5 * nr, o5);
                                    System.Runtime.Intrinsics.X86.Avx.Store(dd + 6 * nr, o6); System.Runtime.Intrinsics.X86.Avx.Store(dd + 7 * nr, o7);
                                }
                        }
                        // A transposing copy, 64 k-steps at a time: the panel rows it writes (64·NR elements) stay in L1,
                        // where a whole panel (KC·NR, up to 40 KiB) would not.
                        for (int k0 = kStart; k0 < depth; k0 += 64)
                        {
                            int k1 = Math.Min(depth, k0 + 64);
                            for (int j = 0; j < w; j++)
                            {
                                T* s = src + offset + (j0 + j) * stride + row0;
                                T* dj = d + j;
                                for (int kk = k0; kk < k1; kk++) dj[kk * nr] = s[kk];
                            }
                        }
                        for (int j = w; j < nr; j++)
                            for (int kk = 0; kk < depth; kk++) d[kk * nr + j] = T.Zero;
                    }
                }
            }
        }

        /// <summary>Copies <paramref name="count"/> contiguous elements, a vector at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void CopyRun(T* s, T* d, int count)
        {
            int j = 0;
            if (System.Numerics.Vector.IsHardwareAccelerated)
                for (; j + System.Numerics.Vector<T>.Count <= count; j += System.Numerics.Vector<T>.Count)
                    System.Numerics.Vector.Store(System.Numerics.Vector.Load(s + j), d + j);
            for (; j < count; j++) d[j] = s[j];
        }

        /// <summary>Macro-kernel: A micro-panels [g0, g1) against every micro-panel of the packed B block jb.</summary>
        public void Multiply(T* packA, T* packB, int jb, int g0, int g1)
        {
            int mr = kernel.MR, nr = kernel.NR;
            var (col0, cols) = Block(jb);
            int nPanels = (cols + nr - 1) / nr;
            T* tile = stackalloc T[GemmKernel<T>.MaxTile];
            fixed (T* cBase = c.Data)
            {
                for (int ip = g0; ip < g1; ip++)
                {
                    int row0 = ic + ip * mr;
                    int rows = Math.Min(mr, ic + mc - row0);
                    T* ap = packA + (long)ip * mr * kc;
                    for (int jp = 0; jp < nPanels; jp++)
                    {
                        int j0 = col0 + jp * nr;
                        int w = Math.Min(nr, col0 + cols - j0);
                        // Triangle modes: skip tiles entirely on the other side of the diagonal.
                        if (triangle == Triangle.Lower && j0 > row0 + rows - 1) break;
                        if (triangle == Triangle.Upper && j0 + w - 1 < row0) continue;
                        T* bp = packB + (long)jp * nr * kc;
                        T* cp = cBase + c.Offset + (long)row0 * c.Stride + j0;
                        if (rows == mr && w == nr)
                        {
                            kernel.Full(kc, ap, bp, cp, c.Stride, alpha, beta);
                        }
                        else
                        {
                            kernel.Full(kc, ap, bp, tile, nr, T.One, T.Zero);
                            for (int r = 0; r < rows; r++)
                            {
                                T* crow = cp + (long)r * c.Stride;
                                T* trow = tile + r * nr;
                                if (T.IsZero(beta)) for (int j = 0; j < w; j++) crow[j] = alpha * trow[j];
                                else for (int j = 0; j < w; j++) crow[j] = alpha * trow[j] + beta * crow[j];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// <summary>
/// A register-tiled micro-kernel with the blocking derived for it: MR×NR from the register file of the SIMD path,
/// KC from the L1 data cache, NC from the per-core L2 (<see cref="CacheSizes"/>).
/// </summary>
internal sealed unsafe class GemmKernel<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    public const int MaxTile = 12 * 32;

    /// <summary>Rows of the C tile (the broadcast dimension).</summary>
    public int MR { get; }
    /// <summary>Columns of the C tile (two vectors).</summary>
    public int NR { get; }
    /// <summary>Depth of a packed slab.</summary>
    public int KC { get; }
    /// <summary>Rows of a packed A block (multiple of MR).</summary>
    public int MC { get; }
    /// <summary>Columns of a packed B block (multiple of NR), sized so KC·NC elements sit in half a core's L2.</summary>
    public int NC { get; }
    /// <summary>C[MR×NR] = α·(A panel · B panel) + β·C (C not read when β = 0).</summary>
    public delegate*<int, T*, T*, T*, nint, T, T, void> Full { get; }

    internal GemmKernel(int mr, int nr, CacheSizes caches, delegate*<int, T*, T*, T*, nint, T, T, void> full)
    {
        int size = sizeof(T);
        MR = mr; NR = nr; Full = full;
        // KC: the A micro-panel (MR×KC), which stays in L1 while the kernel sweeps a whole B block, in half of L1;
        // the B micro-panels stream through the other half.
        int kc = (int)(caches.L1Data / 2 / ((long)mr * size));
        KC = Math.Clamp(kc / 64 * 64, 64, 384);
        // NC: the packed B block (KC×NC), re-read from L2 for every A micro-panel, in 40 % of L2.
        int nc = (int)(caches.L2 * 2 / 5 / ((long)KC * size));
        NC = Math.Clamp(nc / nr * nr, nr, 4096 / nr * nr);
        // MC: the packed A block is read from the shared L3 once per B block; a larger block spends less time
        // re-packing B (each B element is packed once per MC rows): 1152 rows, within 4 MiB.
        int mcRows = (int)Math.Min(1152, (4L << 20) / ((long)KC * size));
        MC = Math.Max(mr, mcRows / mr * mr);
    }

    private static readonly GemmKernel<T>[] s_kernels = [.. Enum.GetValues<SimdPath>().Select(p => Create(p, CacheSizes.Current))];

    /// <summary>The micro-kernel and blocking for <paramref name="path"/> on this machine.</summary>
    public static GemmKernel<T> For(SimdPath path)
    {
        if (path > SimdCapabilities.Best)
            throw new PlatformNotSupportedException($"The {path} path is not accelerated on this CPU (best: {SimdCapabilities.Best}).");
        return s_kernels[(int)path];
    }

    /// <summary>The kernel for <paramref name="path"/> with blocking derived from <paramref name="caches"/> (benchmarks and tests).</summary>
    internal static GemmKernel<T> Create(SimdPath path, CacheSizes caches) => path switch
    {
        // 12 rows × 2 vectors: 24 accumulators + 2 B vectors + 1 broadcast of the 32 AVX-512 registers.
        SimdPath.Vector512 => new(12, 2 * System.Runtime.Intrinsics.Vector512<T>.Count, caches,
            &MicroKernels.Tile12x2<Simd512<T>, System.Runtime.Intrinsics.Vector512<T>, T>),
        // 6 rows × 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast of the 16 AVX2/SSE registers.
        SimdPath.Vector256 => new(6, 2 * System.Runtime.Intrinsics.Vector256<T>.Count, caches,
            &MicroKernels.Tile6x2<Simd256<T>, System.Runtime.Intrinsics.Vector256<T>, T>),
        SimdPath.Vector128 => new(6, 2 * System.Runtime.Intrinsics.Vector128<T>.Count, caches,
            &MicroKernels.Tile6x2<Simd128<T>, System.Runtime.Intrinsics.Vector128<T>, T>),
        _ => new(6, 2, caches, &MicroKernels.Tile6x2<SimdScalar<T>, T, T>),
    };

    /// <inheritdoc/>
    public override string ToString() => $"MR={MR} NR={NR} KC={KC} MC={MC} NC={NC}";
}

/// <summary>The micro-kernels, written once over <see cref="ISimdOps{TVec, T}"/> for float and double and every width.</summary>
internal static unsafe class MicroKernels
{
    /// <summary>12 rows × 2 vectors.</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile12x2<O, V, T>(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
        where O : ISimdOps<V, T> where V : struct where T : unmanaged, System.Numerics.INumberBase<T>
    {
        int w = O.Count;
        PrefetchTile(c, ldc, 12, 2 * w * sizeof(T));
        V c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        V c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        V c80 = default, c81 = default, c90 = default, c91 = default, cA0 = default, cA1 = default, cB0 = default, cB1 = default;
        for (int k = 0; k < kc; k++)
        {
            V b0 = O.Load(b), b1 = O.Load(b + w);
            V x = O.Broadcast(a[0]); c00 = O.MultiplyAdd(x, b0, c00); c01 = O.MultiplyAdd(x, b1, c01);
            x = O.Broadcast(a[1]); c10 = O.MultiplyAdd(x, b0, c10); c11 = O.MultiplyAdd(x, b1, c11);
            x = O.Broadcast(a[2]); c20 = O.MultiplyAdd(x, b0, c20); c21 = O.MultiplyAdd(x, b1, c21);
            x = O.Broadcast(a[3]); c30 = O.MultiplyAdd(x, b0, c30); c31 = O.MultiplyAdd(x, b1, c31);
            x = O.Broadcast(a[4]); c40 = O.MultiplyAdd(x, b0, c40); c41 = O.MultiplyAdd(x, b1, c41);
            x = O.Broadcast(a[5]); c50 = O.MultiplyAdd(x, b0, c50); c51 = O.MultiplyAdd(x, b1, c51);
            x = O.Broadcast(a[6]); c60 = O.MultiplyAdd(x, b0, c60); c61 = O.MultiplyAdd(x, b1, c61);
            x = O.Broadcast(a[7]); c70 = O.MultiplyAdd(x, b0, c70); c71 = O.MultiplyAdd(x, b1, c71);
            x = O.Broadcast(a[8]); c80 = O.MultiplyAdd(x, b0, c80); c81 = O.MultiplyAdd(x, b1, c81);
            x = O.Broadcast(a[9]); c90 = O.MultiplyAdd(x, b0, c90); c91 = O.MultiplyAdd(x, b1, c91);
            x = O.Broadcast(a[10]); cA0 = O.MultiplyAdd(x, b0, cA0); cA1 = O.MultiplyAdd(x, b1, cA1);
            x = O.Broadcast(a[11]); cB0 = O.MultiplyAdd(x, b0, cB0); cB1 = O.MultiplyAdd(x, b1, cB1);
            a += 12;
            b += 2 * w;
        }
        V va = O.Broadcast(alpha);
        if (T.IsZero(beta))
        {
            StoreRow<O, V, T>(c, w, va, c00, c01); StoreRow<O, V, T>(c + ldc, w, va, c10, c11); StoreRow<O, V, T>(c + 2 * ldc, w, va, c20, c21);
            StoreRow<O, V, T>(c + 3 * ldc, w, va, c30, c31); StoreRow<O, V, T>(c + 4 * ldc, w, va, c40, c41); StoreRow<O, V, T>(c + 5 * ldc, w, va, c50, c51);
            StoreRow<O, V, T>(c + 6 * ldc, w, va, c60, c61); StoreRow<O, V, T>(c + 7 * ldc, w, va, c70, c71); StoreRow<O, V, T>(c + 8 * ldc, w, va, c80, c81);
            StoreRow<O, V, T>(c + 9 * ldc, w, va, c90, c91); StoreRow<O, V, T>(c + 10 * ldc, w, va, cA0, cA1); StoreRow<O, V, T>(c + 11 * ldc, w, va, cB0, cB1);
        }
        else
        {
            V vb = O.Broadcast(beta);
            UpdateRow<O, V, T>(c, w, va, vb, c00, c01); UpdateRow<O, V, T>(c + ldc, w, va, vb, c10, c11); UpdateRow<O, V, T>(c + 2 * ldc, w, va, vb, c20, c21);
            UpdateRow<O, V, T>(c + 3 * ldc, w, va, vb, c30, c31); UpdateRow<O, V, T>(c + 4 * ldc, w, va, vb, c40, c41); UpdateRow<O, V, T>(c + 5 * ldc, w, va, vb, c50, c51);
            UpdateRow<O, V, T>(c + 6 * ldc, w, va, vb, c60, c61); UpdateRow<O, V, T>(c + 7 * ldc, w, va, vb, c70, c71); UpdateRow<O, V, T>(c + 8 * ldc, w, va, vb, c80, c81);
            UpdateRow<O, V, T>(c + 9 * ldc, w, va, vb, c90, c91); UpdateRow<O, V, T>(c + 10 * ldc, w, va, vb, cA0, cA1); UpdateRow<O, V, T>(c + 11 * ldc, w, va, vb, cB0, cB1);
        }
    }

    /// <summary>6 rows × 2 vectors.</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x2<O, V, T>(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
        where O : ISimdOps<V, T> where V : struct where T : unmanaged, System.Numerics.INumberBase<T>
    {
        int w = O.Count;
        PrefetchTile(c, ldc, 6, 2 * w * sizeof(T));
        V c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        V c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        // Two k steps per trip: half the loop overhead in the front end.
        int k = 0;
        for (; k + 2 <= kc; k += 2)
        {
            V b0 = O.Load(b), b1 = O.Load(b + w);
            V x = O.Broadcast(a[0]); c00 = O.MultiplyAdd(x, b0, c00); c01 = O.MultiplyAdd(x, b1, c01);
            x = O.Broadcast(a[1]); c10 = O.MultiplyAdd(x, b0, c10); c11 = O.MultiplyAdd(x, b1, c11);
            x = O.Broadcast(a[2]); c20 = O.MultiplyAdd(x, b0, c20); c21 = O.MultiplyAdd(x, b1, c21);
            x = O.Broadcast(a[3]); c30 = O.MultiplyAdd(x, b0, c30); c31 = O.MultiplyAdd(x, b1, c31);
            x = O.Broadcast(a[4]); c40 = O.MultiplyAdd(x, b0, c40); c41 = O.MultiplyAdd(x, b1, c41);
            x = O.Broadcast(a[5]); c50 = O.MultiplyAdd(x, b0, c50); c51 = O.MultiplyAdd(x, b1, c51);
            b0 = O.Load(b + 2 * w); b1 = O.Load(b + 3 * w);
            x = O.Broadcast(a[6]); c00 = O.MultiplyAdd(x, b0, c00); c01 = O.MultiplyAdd(x, b1, c01);
            x = O.Broadcast(a[7]); c10 = O.MultiplyAdd(x, b0, c10); c11 = O.MultiplyAdd(x, b1, c11);
            x = O.Broadcast(a[8]); c20 = O.MultiplyAdd(x, b0, c20); c21 = O.MultiplyAdd(x, b1, c21);
            x = O.Broadcast(a[9]); c30 = O.MultiplyAdd(x, b0, c30); c31 = O.MultiplyAdd(x, b1, c31);
            x = O.Broadcast(a[10]); c40 = O.MultiplyAdd(x, b0, c40); c41 = O.MultiplyAdd(x, b1, c41);
            x = O.Broadcast(a[11]); c50 = O.MultiplyAdd(x, b0, c50); c51 = O.MultiplyAdd(x, b1, c51);
            a += 12;
            b += 4 * w;
        }
        if (k < kc)
        {
            V b0 = O.Load(b), b1 = O.Load(b + w);
            V x = O.Broadcast(a[0]); c00 = O.MultiplyAdd(x, b0, c00); c01 = O.MultiplyAdd(x, b1, c01);
            x = O.Broadcast(a[1]); c10 = O.MultiplyAdd(x, b0, c10); c11 = O.MultiplyAdd(x, b1, c11);
            x = O.Broadcast(a[2]); c20 = O.MultiplyAdd(x, b0, c20); c21 = O.MultiplyAdd(x, b1, c21);
            x = O.Broadcast(a[3]); c30 = O.MultiplyAdd(x, b0, c30); c31 = O.MultiplyAdd(x, b1, c31);
            x = O.Broadcast(a[4]); c40 = O.MultiplyAdd(x, b0, c40); c41 = O.MultiplyAdd(x, b1, c41);
            x = O.Broadcast(a[5]); c50 = O.MultiplyAdd(x, b0, c50); c51 = O.MultiplyAdd(x, b1, c51);
        }
        V va = O.Broadcast(alpha);
        if (T.IsZero(beta))
        {
            StoreRow<O, V, T>(c, w, va, c00, c01); StoreRow<O, V, T>(c + ldc, w, va, c10, c11); StoreRow<O, V, T>(c + 2 * ldc, w, va, c20, c21);
            StoreRow<O, V, T>(c + 3 * ldc, w, va, c30, c31); StoreRow<O, V, T>(c + 4 * ldc, w, va, c40, c41); StoreRow<O, V, T>(c + 5 * ldc, w, va, c50, c51);
        }
        else
        {
            V vb = O.Broadcast(beta);
            UpdateRow<O, V, T>(c, w, va, vb, c00, c01); UpdateRow<O, V, T>(c + ldc, w, va, vb, c10, c11); UpdateRow<O, V, T>(c + 2 * ldc, w, va, vb, c20, c21);
            UpdateRow<O, V, T>(c + 3 * ldc, w, va, vb, c30, c31); UpdateRow<O, V, T>(c + 4 * ldc, w, va, vb, c40, c41); UpdateRow<O, V, T>(c + 5 * ldc, w, va, vb, c50, c51);
        }
    }

    /// <summary>
    /// Starts loading the C tile into cache before the k loop: its rows are a stride apart and usually cold (C is
    /// swept once per KC slab), and the loads at the end of the tile would otherwise stall on memory latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile<T>(T* c, nint ldc, int rows, int rowBytes) where T : unmanaged
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        for (int r = 0; r < rows; r++)
        {
            byte* row = (byte*)(c + r * ldc);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(row);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(row + rowBytes - 1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<O, V, T>(T* c, int w, V alpha, V x0, V x1) where O : ISimdOps<V, T> where V : struct where T : unmanaged
    {
        O.Store(O.Multiply(alpha, x0), c);
        O.Store(O.Multiply(alpha, x1), c + w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateRow<O, V, T>(T* c, int w, V alpha, V beta, V x0, V x1) where O : ISimdOps<V, T> where V : struct where T : unmanaged
    {
        O.Store(O.MultiplyAdd(alpha, x0, O.Multiply(beta, O.Load(c))), c);
        O.Store(O.MultiplyAdd(alpha, x1, O.Multiply(beta, O.Load(c + w))), c + w);
    }
}
