using System.Buffers;

namespace EigenProNet.LinearAlgebra;

/// <summary>A row-major block of a float64 array: element (i, j) at <c>Data[Offset + i·Stride + j]</c>.</summary>
internal readonly struct DoubleBlock
{
    public DoubleBlock(double[] data, long offset, int rows, int columns, int stride)
    {
        if (rows < 0 || columns < 0 || stride < columns || offset < 0 ||
            (rows > 0 && columns > 0 && offset + (long)(rows - 1) * stride + columns > data.Length))
            throw new ArgumentOutOfRangeException(nameof(offset), $"Block ({rows}×{columns}, stride {stride}, offset {offset}) outside an array of {data.Length}.");
        Data = data; Offset = offset; Rows = rows; Columns = columns; Stride = stride;
    }

    /// <summary>The whole n×m array.</summary>
    public static DoubleBlock Of(double[] data, int rows, int columns) => new(data, 0, rows, columns, columns);

    public double[] Data { get; }
    public long Offset { get; }
    public int Rows { get; }
    public int Columns { get; }
    public int Stride { get; }

    public Span<double> Row(int i) => Data.AsSpan((int)(Offset + (long)i * Stride), Columns);

    public DoubleBlock Block(int row, int column, int rows, int columns) =>
        new(Data, Offset + (long)row * Stride + column, rows, columns, Stride);
}

/// <summary>
/// C = α·op(A)·op(B) + β·C in float64, for the eigensolver's blocked reductions: the packed Goto/BLIS scheme of
/// <see cref="Gemm"/> with the same micro-kernel source instantiated for double. Optionally only the tiles that
/// touch the upper triangle of a square C are computed (the symmetric updates of the tridiagonalisation).
/// </summary>
internal static unsafe class DoubleGemm
{
    private sealed class Kernel(int mr, int nr, int kc, int mc, int nc,
        delegate*<int, double*, double*, double*, nint, double, double, void> full)
    {
        public int MR { get; } = mr;
        public int NR { get; } = nr;
        public int KC { get; } = kc;
        public int MC { get; } = mc;
        public int NC { get; } = nc;
        public delegate*<int, double*, double*, double*, nint, double, double, void> Full { get; } = full;
    }

    private static readonly Kernel[] s_kernels = Enum.GetValues<SimdPath>().Select(Choose).ToArray();

    private static Kernel Choose(SimdPath path) => path switch
    {
        SimdPath.Vector512 => new(12, 16, 256, 12 * 32, 16 * 16, &MicroKernels.Tile12x2<Vec512D, double>),
        SimdPath.Vector256 => new(6, 8, 256, 6 * 48, 8 * 32, &MicroKernels.Tile6x2<Vec256D, double>),
        SimdPath.Vector128 => new(6, 4, 256, 6 * 48, 4 * 64, &MicroKernels.Tile6x2<Vec128D, double>),
        _ => new(6, 2, 256, 6 * 32, 2 * 128, &MicroKernels.Tile6x2<Vec1D, double>),
    };

    public static void Compute(Transpose transA, Transpose transB, double alpha, DoubleBlock a, DoubleBlock b, double beta,
        DoubleBlock c, bool upperOnly = false) =>
        Compute(transA, transB, alpha, a, b, beta, c, upperOnly, SimdCapabilities.Best);

    internal static void Compute(Transpose transA, Transpose transB, double alpha, DoubleBlock a, DoubleBlock b, double beta,
        DoubleBlock c, bool upperOnly, SimdPath path)
    {
        if (path > SimdCapabilities.Best)
            throw new PlatformNotSupportedException($"The {path} path is not accelerated on this CPU (best: {SimdCapabilities.Best}).");
        int m = transA == Transpose.No ? a.Rows : a.Columns;
        int k = transA == Transpose.No ? a.Columns : a.Rows;
        int kb = transB == Transpose.No ? b.Rows : b.Columns;
        int n = transB == Transpose.No ? b.Columns : b.Rows;
        if (kb != k || c.Rows != m || c.Columns != n)
            throw new ArgumentException($"Shapes do not conform: op(A) ({m}, {k}), op(B) ({kb}, {n}), C ({c.Rows}, {c.Columns}).");
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            for (int i = 0; i < m; i++)
                if (beta == 0) c.Row(i).Clear();
                else System.Numerics.Tensors.TensorPrimitives.Multiply(c.Row(i), beta, c.Row(i));
            return;
        }
        var kernel = s_kernels[(int)path];
        int threads = (int)Math.Clamp(2L * m * n * k / 4_000_000, 1, Parallelism.MaxThreads);
        int mc = Math.Min(kernel.MC, RoundUp(m, kernel.MR));
        int kc = Math.Min(kernel.KC, k);
        int nc = Math.Min(kernel.NC, RoundUp(n, kernel.NR));
        double[] packA = ArrayPool<double>.Shared.Rent(mc * kc);
        try
        {
            for (int ic = 0; ic < m; ic += mc)
            {
                int mcCur = Math.Min(mc, m - ic);
                int mPanels = (mcCur + kernel.MR - 1) / kernel.MR;
                int nStart = upperOnly ? ic / nc * nc : 0;   // blocks left of this row block lie below the diagonal
                int ncBlocks = (n - nStart + nc - 1) / nc;
                int mGroups = Math.Max(1, Math.Min(mPanels, (threads + ncBlocks - 1) / ncBlocks));
                int tasks = ncBlocks * mGroups;
                int used = Math.Min(threads, tasks);
                for (int pc = 0; pc < k; pc += kc)
                {
                    int kcCur = Math.Min(kc, k - pc);
                    double betaCur = pc == 0 ? beta : 1;
                    var job = new Job(kernel, transA, transB, alpha, betaCur, a, b, c, ic, mcCur, pc, kcCur, nc, nStart, upperOnly);
                    int packThreads = Math.Min(threads, mPanels);
                    Parallelism.Run(packThreads, t =>
                    {
                        var (p0, p1) = Parallelism.Share(mPanels, t, packThreads);
                        fixed (double* pa = packA) job.PackA(pa, p0, p1);
                    });
                    Parallelism.Run(used, t =>
                    {
                        var (t0, t1) = Parallelism.Share(tasks, t, used);
                        double[] packB = ArrayPool<double>.Shared.Rent(nc * kcCur);
                        try
                        {
                            fixed (double* pa = packA)
                            fixed (double* pb = packB)
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
                        finally { ArrayPool<double>.Shared.Return(packB); }
                    });
                }
            }
        }
        finally { ArrayPool<double>.Shared.Return(packA); }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    private readonly struct Job(Kernel kernel, Transpose transA, Transpose transB, double alpha, double beta,
        DoubleBlock a, DoubleBlock b, DoubleBlock c, int ic, int mc, int pc, int kc, int nc, int nStart, bool upperOnly)
    {
        public void PackA(double* dst, int p0, int p1)
        {
            int mr = kernel.MR;
            fixed (double* src = a.Data)
            {
                for (int p = p0; p < p1; p++)
                {
                    double* d = dst + (long)p * mr * kc;
                    int row0 = ic + p * mr;
                    int rows = Math.Min(mr, ic + mc - row0);
                    if (transA == Transpose.No)
                        for (int r = 0; r < rows; r++)
                        {
                            double* s = src + a.Offset + (long)(row0 + r) * a.Stride + pc;
                            for (int kk = 0; kk < kc; kk++) d[kk * mr + r] = s[kk];
                        }
                    else
                        for (int kk = 0; kk < kc; kk++)
                        {
                            double* s = src + a.Offset + (long)(pc + kk) * a.Stride + row0;
                            for (int r = 0; r < rows; r++) d[kk * mr + r] = s[r];
                        }
                    if (rows < mr)
                        for (int kk = 0; kk < kc; kk++)
                            for (int r = rows; r < mr; r++) d[kk * mr + r] = 0;
                }
            }
        }

        public void PackB(double* dst, int jb)
        {
            int nr = kernel.NR;
            int col0 = nStart + jb * nc;
            int n = c.Columns;
            int cols = Math.Min(nc, n - col0);
            int panels = (cols + nr - 1) / nr;
            fixed (double* src = b.Data)
            {
                for (int p = 0; p < panels; p++)
                {
                    double* d = dst + (long)p * nr * kc;
                    int j0 = col0 + p * nr;
                    int w = Math.Min(nr, col0 + cols - j0);
                    if (transB == Transpose.No)
                        for (int kk = 0; kk < kc; kk++)
                        {
                            double* s = src + b.Offset + (long)(pc + kk) * b.Stride + j0;
                            double* dk = d + kk * nr;
                            int j = 0;
                            for (; j < w; j++) dk[j] = s[j];
                            for (; j < nr; j++) dk[j] = 0;
                        }
                    else
                    {
                        for (int j = 0; j < w; j++)
                        {
                            double* s = src + b.Offset + (long)(j0 + j) * b.Stride + pc;
                            for (int kk = 0; kk < kc; kk++) d[kk * nr + j] = s[kk];
                        }
                        for (int j = w; j < nr; j++)
                            for (int kk = 0; kk < kc; kk++) d[kk * nr + j] = 0;
                    }
                }
            }
        }

        public void Multiply(double* packA, double* packB, int jb, int g0, int g1)
        {
            int mr = kernel.MR, nr = kernel.NR;
            int col0 = nStart + jb * nc;
            int cols = Math.Min(nc, c.Columns - col0);
            int nPanels = (cols + nr - 1) / nr;
            double* tile = stackalloc double[12 * 16];
            fixed (double* cBase = c.Data)
            {
                for (int ip = g0; ip < g1; ip++)
                {
                    int row0 = ic + ip * mr;
                    int rows = Math.Min(mr, ic + mc - row0);
                    double* ap = packA + (long)ip * mr * kc;
                    for (int jp = 0; jp < nPanels; jp++)
                    {
                        int j0 = col0 + jp * nr;
                        int w = Math.Min(nr, col0 + cols - j0);
                        // Upper-triangle mode: skip tiles entirely below the diagonal.
                        if (upperOnly && j0 + w - 1 < row0) continue;
                        double* bp = packB + (long)jp * nr * kc;
                        double* cp = cBase + c.Offset + (long)row0 * c.Stride + j0;
                        if (rows == mr && w == nr)
                        {
                            kernel.Full(kc, ap, bp, cp, c.Stride, alpha, beta);
                        }
                        else
                        {
                            kernel.Full(kc, ap, bp, tile, nr, 1, 0);
                            for (int r = 0; r < rows; r++)
                            {
                                double* crow = cp + (long)r * c.Stride;
                                double* trow = tile + r * nr;
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
