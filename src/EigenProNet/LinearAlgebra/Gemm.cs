using System.Buffers;
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
/// General matrix multiply <c>C = α·op(A)·op(B) + β·C</c> in float32, and the symmetric rank-k update.
/// </summary>
/// <remarks>
/// Layout follows Goto/BLIS, written for row-major C: the K dimension is cut into KC-deep slabs; op(A) is packed
/// in MC-row blocks of MR-row micro-panels (the broadcast operand, kept in L1 by the micro-kernel), op(B) in
/// NC-column blocks of NR-column micro-panels (the vector operand, streamed from the private L2 of each core).
/// Threads split the N range of each block (and the M range too when N is narrow), so each core packs its own
/// B block into its own L2. Pack buffers come from the shared array pool: no allocation in steady state.
/// With β = 0, C is never read (NaN in C does not propagate), as in BLAS.
/// </remarks>
public static unsafe class Gemm
{
    /// <summary>C = α·op(A)·op(B) + β·C, on the fastest SIMD path of this CPU and <see cref="Parallelism.MaxThreads"/> threads.</summary>
    /// <exception cref="ArgumentException">Shapes do not conform, or C overlaps A or B.</exception>
    public static void Compute(Transpose transA, Transpose transB, float alpha, MatrixView a, MatrixView b, float beta, MatrixView c) =>
        Compute(transA, transB, alpha, a, b, beta, c, SimdCapabilities.Best, Parallelism.MaxThreads);

    /// <summary>Returns op(A)·op(B) as a new matrix.</summary>
    public static Matrix Multiply(MatrixView a, MatrixView b, Transpose transA = Transpose.No, Transpose transB = Transpose.No)
    {
        int m = transA == Transpose.No ? a.Rows : a.Columns;
        int n = transB == Transpose.No ? b.Columns : b.Rows;
        var c = new Matrix(m, n);
        Compute(transA, transB, 1f, a, b, 0f, c);
        return c;
    }

    /// <summary>
    /// Symmetric rank-k update: C = α·A·Aᵀ + β·C (<paramref name="trans"/> = No, A is n×k) or C = α·Aᵀ·A + β·C
    /// (Yes, A is k×n). Only tiles on or below the diagonal are computed; the result is mirrored, so C comes back
    /// full and exactly symmetric. The upper triangle of the input C is ignored (C is taken as symmetric).
    /// </summary>
    public static void SymmetricRankK(Transpose trans, float alpha, MatrixView a, float beta, MatrixView c) =>
        SymmetricRankK(trans, alpha, a, beta, c, SimdCapabilities.Best, Parallelism.MaxThreads);

    // mirror = false leaves the strict upper triangle unspecified: callers that read only the lower one (Cholesky)
    // skip the column-strided copy.
    internal static void SymmetricRankK(Transpose trans, float alpha, MatrixView a, float beta, MatrixView c, SimdPath path, int threads,
        bool mirror = true)
    {
        var other = trans == Transpose.No ? Transpose.Yes : Transpose.No;
        int n = trans == Transpose.No ? a.Rows : a.Columns;
        Guard.Shape(c, n, n, nameof(c));
        // Tiles crossing the diagonal also compute some upper elements from the (ignored) upper input; the lower
        // triangle never depends on them, and the mirror below overwrites them.
        Run(trans, other, alpha, a, b: a, beta, c, path, threads, lowerOnly: true);
        if (mirror) MirrorLowerToUpper(c);
    }

    internal static void Compute(Transpose transA, Transpose transB, float alpha, MatrixView a, MatrixView b, float beta, MatrixView c,
        SimdPath path, int threads) => Run(transA, transB, alpha, a, b, beta, c, path, threads, lowerOnly: false);

    private static void MirrorLowerToUpper(MatrixView c)
    {
        for (int i = 0; i < c.Rows; i++)
            for (int j = i + 1; j < c.Columns; j++)
                c.RefAt(i, j) = c.RefAt(j, i);
    }

    private static void Run(Transpose transA, Transpose transB, float alpha, MatrixView a, MatrixView b, float beta, MatrixView c,
        SimdPath path, int threads, bool lowerOnly)
    {
        int m = transA == Transpose.No ? a.Rows : a.Columns;
        int k = transA == Transpose.No ? a.Columns : a.Rows;
        int kb = transB == Transpose.No ? b.Rows : b.Columns;
        int n = transB == Transpose.No ? b.Columns : b.Rows;
        if (kb != k)
            throw new ArgumentException(
                $"Inner dimensions differ: op(A) is ({m}, {k}) but op(B) is ({kb}, {n}) (A {a.Shape} transA={transA}, B {b.Shape} transB={transB}).",
                nameof(b));
        Guard.Shape(c, m, n, nameof(c));
        if (Overlaps(c, a) || Overlaps(c, b))
            throw new ArgumentException("C must not share storage with A or B.", nameof(c));
        Guard.Finite(alpha, nameof(alpha));
        Guard.Finite(beta, nameof(beta));
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(c, beta);
            return;
        }

        var kernel = MicroKernel.For(path);
        // About 4 MFLOP per thread before a second thread pays for its start-up.
        long flops = 2L * m * n * k;
        threads = (int)Math.Clamp(flops / 4_000_000, 1, Math.Max(1, threads));

        int mc = Math.Min(kernel.MC, RoundUp(m, kernel.MR));
        int kc = Math.Min(kernel.KC, k);
        int nc = Math.Min(kernel.NC, RoundUp(n, kernel.NR));
        float[] packA = ArrayPool<float>.Shared.Rent(mc * kc);
        try
        {
            for (int ic = 0; ic < m; ic += mc)
            {
                int mcCur = Math.Min(mc, m - ic);
                int mPanels = (mcCur + kernel.MR - 1) / kernel.MR;
                // Rows ic.. need no columns beyond ic+mcCur in the lower-only case.
                int nLimit = lowerOnly ? Math.Min(n, ic + mcCur) : n;
                int ncBlocks = (nLimit + nc - 1) / nc;
                // When N is narrow, split the M panels too so every thread has work.
                int mGroups = Math.Max(1, Math.Min(mPanels, (threads + ncBlocks - 1) / ncBlocks));
                int tasks = ncBlocks * mGroups;
                int used = Math.Min(threads, tasks);
                for (int pc = 0; pc < k; pc += kc)
                {
                    int kcCur = Math.Min(kc, k - pc);
                    float betaCur = pc == 0 ? beta : 1f;
                    var job = new Job(kernel, transA, transB, alpha, betaCur, a, b, c, ic, mcCur, pc, kcCur, nc, nLimit, lowerOnly);
                    Parallelism.Run(Math.Min(threads, mPanels), t =>
                    {
                        var (p0, p1) = Parallelism.Share(mPanels, t, Math.Min(threads, mPanels));
                        fixed (float* pa = packA) job.PackA(pa, p0, p1);
                    });
                    Parallelism.Run(used, t =>
                    {
                        var (t0, t1) = Parallelism.Share(tasks, t, used);
                        float[] packB = ArrayPool<float>.Shared.Rent(nc * kcCur);
                        try
                        {
                            fixed (float* pa = packA)
                            fixed (float* pb = packB)
                            {
                                int packed = -1;
                                for (int task = t0; task < t1; task++)
                                {
                                    int jb = task / mGroups, g = task % mGroups;
                                    if (jb != packed) { job.PackB(pb, jb); packed = jb; }
                                    var (g0, g1) = Parallelism.Share(mPanels, g, mGroups);
                                    job.Multiply(pa, pb, jb, g0, g1);
                                }
                            }
                        }
                        finally { ArrayPool<float>.Shared.Return(packB); }
                    });
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(packA); }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

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

    private static void ScaleC(MatrixView c, float beta)
    {
        for (int i = 0; i < c.Rows; i++)
        {
            var row = c.Row(i);
            if (beta == 0) row.Clear();
            else if (beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>One (MC-block, KC-slab) step of the product: packing and the macro-kernel loops.</summary>
    private readonly struct Job(
        MicroKernel kernel, Transpose transA, Transpose transB, float alpha, float beta,
        MatrixView a, MatrixView b, MatrixView c, int ic, int mc, int pc, int kc, int nc, int nLimit, bool lowerOnly)
    {
        /// <summary>Packs MR-row micro-panels [p0, p1) of op(A)[ic.., pc..]: panel p holds, for each k, MR consecutive values.</summary>
        public void PackA(float* dst, int p0, int p1)
        {
            int mr = kernel.MR;
            fixed (float* src = a.Storage)
            {
                for (int p = p0; p < p1; p++)
                {
                    float* d = dst + (long)p * mr * kc;
                    int row0 = ic + p * mr;
                    int rows = Math.Min(mr, ic + mc - row0);
                    if (transA == Transpose.No)
                    {
                        for (int r = 0; r < rows; r++)
                        {
                            float* s = src + a.Offset + (long)(row0 + r) * a.Stride + pc;
                            for (int kk = 0; kk < kc; kk++) d[kk * mr + r] = s[kk];
                        }
                    }
                    else
                    {
                        for (int kk = 0; kk < kc; kk++)
                        {
                            float* s = src + a.Offset + (long)(pc + kk) * a.Stride + row0;
                            for (int r = 0; r < rows; r++) d[kk * mr + r] = s[r];
                        }
                    }
                    if (rows < mr)
                        for (int kk = 0; kk < kc; kk++)
                            for (int r = rows; r < mr; r++) d[kk * mr + r] = 0f;
                }
            }
        }

        /// <summary>Packs NC-block <paramref name="jb"/> of op(B)[pc.., ..] into NR-column micro-panels.</summary>
        public void PackB(float* dst, int jb)
        {
            int nr = kernel.NR;
            int col0 = jb * nc;
            int cols = Math.Min(nc, nLimit - col0);
            int panels = (cols + nr - 1) / nr;
            fixed (float* src = b.Storage)
            {
                for (int p = 0; p < panels; p++)
                {
                    float* d = dst + (long)p * nr * kc;
                    int j0 = col0 + p * nr;
                    int w = Math.Min(nr, col0 + cols - j0);
                    if (transB == Transpose.No)
                    {
                        for (int kk = 0; kk < kc; kk++)
                        {
                            float* s = src + b.Offset + (long)(pc + kk) * b.Stride + j0;
                            float* dk = d + kk * nr;
                            int j = 0;
                            for (; j < w; j++) dk[j] = s[j];
                            for (; j < nr; j++) dk[j] = 0f;
                        }
                    }
                    else
                    {
                        for (int j = 0; j < w; j++)
                        {
                            float* s = src + b.Offset + (long)(j0 + j) * b.Stride + pc;
                            for (int kk = 0; kk < kc; kk++) d[kk * nr + j] = s[kk];
                        }
                        for (int j = w; j < nr; j++)
                            for (int kk = 0; kk < kc; kk++) d[kk * nr + j] = 0f;
                    }
                }
            }
        }

        /// <summary>Macro-kernel: A micro-panels [g0, g1) against every micro-panel of the packed B block jb.</summary>
        public void Multiply(float* packA, float* packB, int jb, int g0, int g1)
        {
            int mr = kernel.MR, nr = kernel.NR;
            int col0 = jb * nc;
            int cols = Math.Min(nc, nLimit - col0);
            int nPanels = (cols + nr - 1) / nr;
            float* tile = stackalloc float[MicroKernel.MaxTile];
            fixed (float* cBase = c.Storage)
            {
                for (int ip = g0; ip < g1; ip++)
                {
                    int row0 = ic + ip * mr;
                    int rows = Math.Min(mr, ic + mc - row0);
                    float* ap = packA + (long)ip * mr * kc;
                    for (int jp = 0; jp < nPanels; jp++)
                    {
                        int j0 = col0 + jp * nr;
                        // Lower-triangle mode: skip tiles entirely above the diagonal.
                        if (lowerOnly && j0 > row0 + rows - 1) break;
                        int w = Math.Min(nr, col0 + cols - j0);
                        float* bp = packB + (long)jp * nr * kc;
                        float* cp = cBase + c.Offset + (long)row0 * c.Stride + j0;
                        if (rows == mr && w == nr)
                        {
                            kernel.Full(kc, ap, bp, cp, c.Stride, alpha, beta);
                        }
                        else
                        {
                            kernel.Full(kc, ap, bp, tile, nr, 1f, 0f);
                            for (int r = 0; r < rows; r++)
                            {
                                float* crow = cp + (long)r * c.Stride;
                                float* trow = tile + r * nr;
                                if (beta == 0) for (int j = 0; j < w; j++) crow[j] = alpha * trow[j];
                                else for (int j = 0; j < w; j++) crow[j] = alpha * trow[j] + beta * crow[j];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// <summary>A register-tiled micro-kernel with its blocking parameters.</summary>
internal sealed unsafe class MicroKernel
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
    /// <summary>Columns of a packed B block (multiple of NR), sized so KC·NC floats sit in a core's L2.</summary>
    public int NC { get; }
    /// <summary>C[MR×NR] = α·(A panel · B panel) + β·C (C not read when β = 0).</summary>
    public delegate*<int, float*, float*, float*, nint, float, float, void> Full { get; }

    private MicroKernel(int mr, int nr, int kc, int mc, int nc, delegate*<int, float*, float*, float*, nint, float, float, void> full)
    {
        MR = mr; NR = nr; KC = kc; MC = mc; NC = nc; Full = full;
    }

    private static readonly MicroKernel s_512 = new(12, 32, 384, 12 * 64, 32 * 16, &MicroKernels.Tile12x2<Vec512, float>);
    private static readonly MicroKernel s_256 = new(6, 16, 384, 6 * 96, 16 * 32, &MicroKernels.Tile6x2<Vec256, float>);
    private static readonly MicroKernel s_128 = new(6, 8, 384, 6 * 96, 8 * 64, &MicroKernels.Tile6x2<Vec128, float>);
    private static readonly MicroKernel s_1 = new(6, 2, 256, 6 * 64, 2 * 128, &MicroKernels.Tile6x2<Vec1, float>);

    public static MicroKernel For(SimdPath path)
    {
        if (path > SimdCapabilities.Best)
            throw new PlatformNotSupportedException($"The {path} path is not accelerated on this CPU (best: {SimdCapabilities.Best}).");
        return path switch
        {
            SimdPath.Vector512 => s_512,
            SimdPath.Vector256 => s_256,
            SimdPath.Vector128 => s_128,
            _ => s_1,
        };
    }
}

/// <summary>The micro-kernels, written once over <see cref="ISimdVector{TSelf, T}"/> for float and double.</summary>
internal static unsafe class MicroKernels
{
    /// <summary>12 rows × 2 vectors: 24 accumulators + 2 B vectors + 1 broadcast fit the 32 AVX-512 registers.</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile12x2<V, T>(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
        where V : struct, ISimdVector<V, T> where T : unmanaged, System.Numerics.INumberBase<T>
    {
        int w = V.Count;
        V c00 = V.Zero, c01 = V.Zero, c10 = V.Zero, c11 = V.Zero, c20 = V.Zero, c21 = V.Zero, c30 = V.Zero, c31 = V.Zero;
        V c40 = V.Zero, c41 = V.Zero, c50 = V.Zero, c51 = V.Zero, c60 = V.Zero, c61 = V.Zero, c70 = V.Zero, c71 = V.Zero;
        V c80 = V.Zero, c81 = V.Zero, c90 = V.Zero, c91 = V.Zero, cA0 = V.Zero, cA1 = V.Zero, cB0 = V.Zero, cB1 = V.Zero;
        for (int k = 0; k < kc; k++)
        {
            V b0 = V.Load(b), b1 = V.Load(b + w);
            V x = V.Broadcast(a[0]); c00 = V.MultiplyAdd(x, b0, c00); c01 = V.MultiplyAdd(x, b1, c01);
            x = V.Broadcast(a[1]); c10 = V.MultiplyAdd(x, b0, c10); c11 = V.MultiplyAdd(x, b1, c11);
            x = V.Broadcast(a[2]); c20 = V.MultiplyAdd(x, b0, c20); c21 = V.MultiplyAdd(x, b1, c21);
            x = V.Broadcast(a[3]); c30 = V.MultiplyAdd(x, b0, c30); c31 = V.MultiplyAdd(x, b1, c31);
            x = V.Broadcast(a[4]); c40 = V.MultiplyAdd(x, b0, c40); c41 = V.MultiplyAdd(x, b1, c41);
            x = V.Broadcast(a[5]); c50 = V.MultiplyAdd(x, b0, c50); c51 = V.MultiplyAdd(x, b1, c51);
            x = V.Broadcast(a[6]); c60 = V.MultiplyAdd(x, b0, c60); c61 = V.MultiplyAdd(x, b1, c61);
            x = V.Broadcast(a[7]); c70 = V.MultiplyAdd(x, b0, c70); c71 = V.MultiplyAdd(x, b1, c71);
            x = V.Broadcast(a[8]); c80 = V.MultiplyAdd(x, b0, c80); c81 = V.MultiplyAdd(x, b1, c81);
            x = V.Broadcast(a[9]); c90 = V.MultiplyAdd(x, b0, c90); c91 = V.MultiplyAdd(x, b1, c91);
            x = V.Broadcast(a[10]); cA0 = V.MultiplyAdd(x, b0, cA0); cA1 = V.MultiplyAdd(x, b1, cA1);
            x = V.Broadcast(a[11]); cB0 = V.MultiplyAdd(x, b0, cB0); cB1 = V.MultiplyAdd(x, b1, cB1);
            a += 12;
            b += 2 * w;
        }
        V va = V.Broadcast(alpha);
        if (T.IsZero(beta))
        {
            StoreRow(c, w, va, c00, c01); StoreRow(c + ldc, w, va, c10, c11); StoreRow(c + 2 * ldc, w, va, c20, c21);
            StoreRow(c + 3 * ldc, w, va, c30, c31); StoreRow(c + 4 * ldc, w, va, c40, c41); StoreRow(c + 5 * ldc, w, va, c50, c51);
            StoreRow(c + 6 * ldc, w, va, c60, c61); StoreRow(c + 7 * ldc, w, va, c70, c71); StoreRow(c + 8 * ldc, w, va, c80, c81);
            StoreRow(c + 9 * ldc, w, va, c90, c91); StoreRow(c + 10 * ldc, w, va, cA0, cA1); StoreRow(c + 11 * ldc, w, va, cB0, cB1);
        }
        else
        {
            V vb = V.Broadcast(beta);
            UpdateRow(c, w, va, vb, c00, c01); UpdateRow(c + ldc, w, va, vb, c10, c11); UpdateRow(c + 2 * ldc, w, va, vb, c20, c21);
            UpdateRow(c + 3 * ldc, w, va, vb, c30, c31); UpdateRow(c + 4 * ldc, w, va, vb, c40, c41); UpdateRow(c + 5 * ldc, w, va, vb, c50, c51);
            UpdateRow(c + 6 * ldc, w, va, vb, c60, c61); UpdateRow(c + 7 * ldc, w, va, vb, c70, c71); UpdateRow(c + 8 * ldc, w, va, vb, c80, c81);
            UpdateRow(c + 9 * ldc, w, va, vb, c90, c91); UpdateRow(c + 10 * ldc, w, va, vb, cA0, cA1); UpdateRow(c + 11 * ldc, w, va, vb, cB0, cB1);
        }
    }

    /// <summary>6 rows × 2 vectors: 12 accumulators, for the 16-register AVX2/SSE files (and the scalar fallback).</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x2<V, T>(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
        where V : struct, ISimdVector<V, T> where T : unmanaged, System.Numerics.INumberBase<T>
    {
        int w = V.Count;
        V c00 = V.Zero, c01 = V.Zero, c10 = V.Zero, c11 = V.Zero, c20 = V.Zero, c21 = V.Zero;
        V c30 = V.Zero, c31 = V.Zero, c40 = V.Zero, c41 = V.Zero, c50 = V.Zero, c51 = V.Zero;
        for (int k = 0; k < kc; k++)
        {
            V b0 = V.Load(b), b1 = V.Load(b + w);
            V x = V.Broadcast(a[0]); c00 = V.MultiplyAdd(x, b0, c00); c01 = V.MultiplyAdd(x, b1, c01);
            x = V.Broadcast(a[1]); c10 = V.MultiplyAdd(x, b0, c10); c11 = V.MultiplyAdd(x, b1, c11);
            x = V.Broadcast(a[2]); c20 = V.MultiplyAdd(x, b0, c20); c21 = V.MultiplyAdd(x, b1, c21);
            x = V.Broadcast(a[3]); c30 = V.MultiplyAdd(x, b0, c30); c31 = V.MultiplyAdd(x, b1, c31);
            x = V.Broadcast(a[4]); c40 = V.MultiplyAdd(x, b0, c40); c41 = V.MultiplyAdd(x, b1, c41);
            x = V.Broadcast(a[5]); c50 = V.MultiplyAdd(x, b0, c50); c51 = V.MultiplyAdd(x, b1, c51);
            a += 6;
            b += 2 * w;
        }
        V va = V.Broadcast(alpha);
        if (T.IsZero(beta))
        {
            StoreRow(c, w, va, c00, c01); StoreRow(c + ldc, w, va, c10, c11); StoreRow(c + 2 * ldc, w, va, c20, c21);
            StoreRow(c + 3 * ldc, w, va, c30, c31); StoreRow(c + 4 * ldc, w, va, c40, c41); StoreRow(c + 5 * ldc, w, va, c50, c51);
        }
        else
        {
            V vb = V.Broadcast(beta);
            UpdateRow(c, w, va, vb, c00, c01); UpdateRow(c + ldc, w, va, vb, c10, c11); UpdateRow(c + 2 * ldc, w, va, vb, c20, c21);
            UpdateRow(c + 3 * ldc, w, va, vb, c30, c31); UpdateRow(c + 4 * ldc, w, va, vb, c40, c41); UpdateRow(c + 5 * ldc, w, va, vb, c50, c51);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<V, T>(T* c, int w, V alpha, V x0, V x1) where V : struct, ISimdVector<V, T> where T : unmanaged
    {
        V.Store(V.Multiply(alpha, x0), c);
        V.Store(V.Multiply(alpha, x1), c + w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateRow<V, T>(T* c, int w, V alpha, V beta, V x0, V x1) where V : struct, ISimdVector<V, T> where T : unmanaged
    {
        V.Store(V.MultiplyAdd(alpha, x0, V.Multiply(beta, V.Load(c))), c);
        V.Store(V.MultiplyAdd(alpha, x1, V.Multiply(beta, V.Load(c + w))), c + w);
    }
}
