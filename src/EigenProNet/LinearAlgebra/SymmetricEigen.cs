using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace EigenProNet.LinearAlgebra;

/// <summary>The precision of the dense eigensolver's reduction to tridiagonal form (the tridiagonal itself is always solved in float64).</summary>
public enum ReductionPrecision
{
    /// <summary>
    /// Float32, as LAPACK's ssyevd: eigenvalues to about n·u·‖A‖ (u = 2⁻²⁴), eigenvectors to that over the gap — the
    /// fastest dense path, with residuals and orthogonality measured below ssyevd's (docs/benchmarks.md).
    /// </summary>
    Single,
    /// <summary>
    /// Float64: the eigenpairs of the float32 input exact to float64 rounding before the float32 back-transformation;
    /// for eigenvalues far below ‖A‖ and the eigenvectors of small gaps (about 1.4× the time of <see cref="Single"/>).
    /// </summary>
    Double,
}

/// <summary>Eigenvalues (descending) and orthonormal eigenvectors (as columns) of a symmetric matrix.</summary>
/// <param name="Values">λ_1 ≥ λ_2 ≥ … ≥ λ_k, in float64.</param>
/// <param name="Vectors">n × k, column j is the unit eigenvector of <c>Values[j]</c>.</param>
public sealed record EigenDecomposition(double[] Values, Matrix Vectors)
{
    /// <summary>Number of eigenpairs.</summary>
    public int Count => Values.Length;
}

/// <summary>
/// Symmetric eigensolvers. The dense path works like LAPACK's ssyevd or dsyevd (<see cref="ReductionPrecision"/>):
/// blocked Householder tridiagonalisation (half of its flops in GEMM), divide and conquer on the tridiagonal in float64
/// (<see cref="TridiagonalEigen"/>), and the blocked back-transformation of the wanted eigenvectors in float32 GEMM
/// (the output's precision; the float64 one remains for the float64 callers inside).
/// <see cref="Top"/> switches to subspace iteration (<see cref="SubspaceIteration"/>) when k is a small fraction of n.
/// </summary>
public static class SymmetricEigen
{
    /// <summary>Relative asymmetry tolerated in the input (float32 kernel matrices are symmetric to rounding).</summary>
    public const double SymmetryTolerance = 1e-4;

    /// <summary>All eigenpairs of the symmetric matrix <paramref name="a"/>, eigenvalues descending.</summary>
    /// <exception cref="ArgumentException">Not square, not symmetric (beyond <see cref="SymmetryTolerance"/>), or NaN/Inf.</exception>
    /// <exception cref="InvalidOperationException">The iteration did not converge (names the eigenpair).</exception>
    public static EigenDecomposition Full(MatrixView a, ComputeContext? context = null, ReductionPrecision precision = ReductionPrecision.Single) =>
        Full(a, context, precision, phases: null);

    /// <summary><see cref="Full(MatrixView, ComputeContext?, ReductionPrecision)"/>, telling <paramref name="phases"/> each phase's seconds (bench eigh).</summary>
    internal static EigenDecomposition Full(MatrixView a, ComputeContext? context, ReductionPrecision precision, Action<string, double>? phases)
    {
        Validate(a, nameof(a));
        return Dense(a, a.Rows, context, precision, phases);
    }

    /// <summary>Subspace iterations <see cref="Top"/> allows before it switches to the dense path (convergence usually takes 5–20).</summary>
    private const int TopIterations = 60;

    /// <summary>Default residual tolerance of <see cref="Top"/>'s iterative path, relative to ‖A‖₂.</summary>
    public const double DefaultTolerance = 1e-5;

    /// <summary>
    /// The <paramref name="k"/> largest eigenpairs, eigenvalues descending. When k is a small fraction of n this runs
    /// subspace iteration with Rayleigh–Ritz (float32 products with A, float64 projected problems) until every
    /// returned pair has ‖Av − λv‖ ≤ <paramref name="tolerance"/>·‖A‖₂; if that has not happened after 60 iterations
    /// (a tolerance at the float32 floor of the products, or a pair converging too slowly), or for small n, it takes
    /// the full decomposition instead, which is exact to rounding.
    /// </summary>
    /// <param name="a">Symmetric n×n matrix.</param>
    /// <param name="k">Number of eigenpairs, 0 ≤ k ≤ n.</param>
    /// <param name="tolerance">Residual bound of the iterative path relative to ‖A‖₂ (default 1e-5 ≈ 170·u for float32 u).</param>
    /// <param name="context">Threads and SIMD path (default: all cores, widest path).</param>
    /// <param name="precision">The dense path's reduction (default float32, as LAPACK's ssyevd).</param>
    /// <exception cref="ArgumentException">Not square, not symmetric, or NaN/Inf.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k outside [0, n], or tolerance not in (0, 1).</exception>
    /// <exception cref="InvalidOperationException">The dense path's QL iteration did not converge (names the eigenpair).</exception>
    public static EigenDecomposition Top(MatrixView a, int k, double tolerance = DefaultTolerance, ComputeContext? context = null,
        ReductionPrecision precision = ReductionPrecision.Single)
    {
        int n = a.Rows;
        Validate(a, nameof(a));
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"Expected 0 <= k <= n = {n}.");
        if (!(tolerance > 0 && tolerance < 1)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "Expected 0 < tolerance < 1.");
        if (SubspaceIteration.Pays(n, k))
        {
            var result = SubspaceIteration.Run(a, k, tolerance, TopIterations, context: context, nullIfNotConverged: true);
            if (result is not null) return result;
            // The block met A's null space (rank below the block size), or a pair still stalls after the locked
            // pairs rejoined the block (SubspaceIteration's unlocking), or the tolerance is below the float32 floor
            // of the products: the dense path is exact in every case, at the cost of the full decomposition.
        }
        return Dense(a, k, context, precision);
    }

    /// <summary>
    /// The most <see cref="Top"/> may allocate for the k largest pairs of an n × n matrix: the dense path's float64
    /// copy and the float32 vectors (the subspace path needs a few n × b blocks, but falls back to the dense path).
    /// </summary>
    public static long TopWorkspaceBytes(int n, int k) => 8L * n * n + 8L * n * Math.Max(k, 1);

    /// <summary>The k largest eigenpairs by the dense path (A symmetrised as (A + Aᵀ)/2); no validation.</summary>
    /// <param name="a">Symmetric n×n matrix.</param>
    /// <param name="k">Number of eigenpairs kept (the largest).</param>
    /// <param name="context">Threads and SIMD path.</param>
    /// <param name="precision">The reduction's precision.</param>
    /// <param name="phases">Told each phase's name and seconds as it ends (bench eigh's breakdown).</param>
    internal static EigenDecomposition Dense(MatrixView a, int k, ComputeContext? context = null, ReductionPrecision precision = ReductionPrecision.Single,
        Action<string, double>? phases = null) =>
        precision == ReductionPrecision.Double ? Dense<double>(a, k, context, phases) : Dense<float>(a, k, context, phases);

    private static EigenDecomposition Dense<TR>(MatrixView a, int k, ComputeContext? context, Action<string, double>? phases) where TR : unmanaged, IFloatingPointIeee754<TR>
    {
        var clock = phases is null ? null : Stopwatch.StartNew();
        void Phase(string name)
        {
            if (clock is null) return;
            phases!(name, clock.Elapsed.TotalSeconds);
            clock.Restart();
        }
        int n = a.Rows;
        // The n² work arrays may hold an earlier user's values (WorkArrayPool): every element is written before it is
        // read or never read.
        var w = WorkArrayPool.Rent<TR>(checked(n * n));
        var columns = WorkArrayPool.Rent<double>(n * n);
        var compute = context ?? ComputeContext.Default;
        try
        {
            Symmetrise(a, w, compute);
            Phase("symmetrise");
            // The reduction in TR (float32: half the memory traffic of its mat-vecs and twice the GEMM rate of float64),
            // the tridiagonal's eigensystem in float64, the back-transformation in float32.
            var values = new double[n];
            var e = new double[n];
            var tau = new TR[n];
            Tridiagonalize(w, n, values, e, tau, compute);
            Phase("tridiagonalise");
            TridiagonalEigen.Solve(values, e, columns, n, compute, typeof(TR) == typeof(float) ? TridiagonalEigen.SingleDeflationRoundoff : TridiagonalEigen.DoubleRoundoff);
            Phase("divide_and_conquer");
            // Descending order; the eigenvectors of T for the k kept values, in that order, then the back-transformation
            // on those k columns only, in float32 (the output's precision): half the time of the float64 one, and the
            // vectors stay orthonormal to a few float32 ulps (docs/benchmarks.md: better than LAPACK's ssyevr and ssyevd).
            var order = Enumerable.Range(0, n).OrderByDescending(i => values[i]).Take(k).ToArray();
            var vectors = new Matrix(n, k);
            var sorted = new double[k];
            for (int j = 0; j < k; j++) sorted[j] = values[order[j]];
            int threads = Math.Min(compute.Threads, Math.Max(1, n / 256));
            Parallelism.Run(threads, t =>
            {
                var (r0, r1) = Parallelism.Share(n, t, threads);
                for (int i = r0; i < r1; i++)
                {
                    var row = vectors.Row(i);
                    var src = new ReadOnlySpan<double>(columns, i * n, n);
                    for (int j = 0; j < row.Length; j++) row[j] = (float)src[order[j]];
                }
            });
            Phase("sort");
            ApplyReflectors(w, n, tau, vectors, compute);
            Phase("back_transform");
            return new EigenDecomposition(sorted, vectors);
        }
        finally
        {
            WorkArrayPool.Return(columns);
            WorkArrayPool.Return(w);
        }
    }

    /// <summary>
    /// The entries on and right of the diagonal of (A + Aᵀ)/2 into w (row stride n) — all the reduction reads, so the
    /// rest of w is never touched. In 64×64 tiles so that the transposed reads stay in cache, tile rows dealt to the
    /// threads by equal areas of the triangle.
    /// </summary>
    private static unsafe void Symmetrise<TR>(MatrixView a, TR[] w, ComputeContext context) where TR : unmanaged, IFloatingPointIeee754<TR>
    {
        const int tile = 64;
        int n = a.Rows, tileRows = (n + tile - 1) / tile;
        int threads = Math.Min(context.Threads, Math.Max(1, n / 256));
        Parallelism.Run(threads, t =>
        {
            var (q0, q1) = Parallelism.ShareTriangle(tileRows, t, threads);   // tile row q holds tileRows − q tiles
            fixed (float* pa = a.Storage)
            fixed (TR* pw = w)
            {
                float* a0 = pa + a.Offset;
                int stride = a.Stride;
                for (int i0 = q0 * tile; i0 < Math.Min(n, q1 * tile); i0 += tile)
                    for (int j0 = i0; j0 < n; j0 += tile)
                        for (int i = i0; i < Math.Min(n, i0 + tile); i++)
                        {
                            float* ai = a0 + (long)i * stride;
                            TR* wi = pw + (long)i * n;
                            for (int j = Math.Max(i, j0); j < Math.Min(n, j0 + tile); j++)
                                wi[j] = TR.CreateTruncating(0.5 * ((double)ai[j] + a0[(long)j * stride + i]));
                        }
            }
        });
    }

    internal static unsafe void Validate(MatrixView a, string name)
    {
        if (a.Rows != a.Columns)
            throw new ArgumentException($"Expected a square matrix, found shape {a.Shape}.", name);
        // One pass for the scale and finiteness: the largest magnitude is NaN or ∞ exactly when an element is, and
        // only then does the element-wise scan run to name it.
        float scale = 0;
        for (int i = 0; i < a.Rows; i++) scale = MathF.Max(scale, TensorPrimitives.MaxMagnitude(a.Row(i)));
        if (!float.IsFinite(scale)) Guard.AllFinite(a, name);
        float tolerance = (float)(SymmetryTolerance * scale);
        int n = a.Rows, whole = 0;
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
        {
            // 8×8 blocks below the diagonal against the transposes of their mirrors, in registers; a block that
            // differs is scanned element by element below for the message.
            whole = n / 8 * 8;
            fixed (float* p = a.Storage)
            {
                float* origin = p + a.Offset;
                long stride = a.Stride;
                for (int i0 = 0; i0 < whole; i0 += 8)
                    for (int j0 = 0; j0 <= i0; j0 += 8)
                        if (RegisterTranspose.MaxMirrorDifference(origin + j0 * stride + i0, origin + i0 * stride + j0, stride) > tolerance)
                            CheckMirror(a, i0, i0 + 8, j0, j0 + 8, tolerance, scale, name);
            }
        }
        // The rest (everything without AVX): in 64×64 tiles so that the transposed reads stay in cache.
        const int tile = 64;
        for (int i0 = whole; i0 < n; i0 += tile)
            for (int j0 = 0; j0 <= i0; j0 += tile)
                CheckMirror(a, i0, Math.Min(n, i0 + tile), j0, Math.Min(n, j0 + tile), tolerance, scale, name);
    }

    /// <summary>Throws naming the first A[i, j] (rows [i0, i1), columns [j0, min(i, j1))) that differs from A[j, i] by more than the tolerance.</summary>
    private static void CheckMirror(MatrixView a, int i0, int i1, int j0, int j1, float tolerance, float scale, string name)
    {
        for (int i = i0; i < i1; i++)
        {
            var ai = a.Row(i);
            for (int j = j0; j < Math.Min(i, j1); j++)
                if (Math.Abs(ai[j] - a.RefAt(j, i)) > tolerance)
                    throw new ArgumentException(
                        $"Expected a symmetric matrix, found A[{i},{j}] = {a[i, j]} but A[{j},{i}] = {a[j, i]} (tolerance {SymmetryTolerance} × max|A| = {SymmetryTolerance * scale:G3}).", name);
        }
    }

    /// <summary>
    /// Eigenvalues (unsorted) and eigenvectors as the columns of an n×n row-major array (column j belongs to
    /// Values[j]). <paramref name="w"/> (full symmetric storage) is destroyed.
    /// </summary>
    internal static (double[] Values, double[] Vectors) Decompose(double[] w, int n, ComputeContext? context = null)
    {
        var (values, vectors, _) = Decompose(w, n, context, true);
        return (values, vectors);
    }

    /// <summary>
    /// The same, optionally without the back-transformation: then the vectors are those of the tridiagonal T, and
    /// τ with the reflectors left in <paramref name="w"/> are what <see cref="ApplyReflectors(double[], int, double[], double[], ComputeContext)"/> needs.
    /// </summary>
    internal static (double[] Values, double[] Vectors, double[] Tau) Decompose(double[] w, int n, ComputeContext? context, bool applyReflectors)
    {
        context ??= ComputeContext.Default;
        var d = new double[n];
        var e = new double[n];
        var tau = new double[n];
        Tridiagonalize(w, n, d, e, tau, context);
        var q = new double[(long)n * n];
        TridiagonalEigen.Solve(d, e, q, n, context);
        if (applyReflectors) ApplyReflectors(w, n, tau, q, context);
        return (d, q, tau);
    }

    private const int PanelWidth = 32;

    /// <summary>
    /// Reduces the symmetric n×n array to tridiagonal form T = QᵀAQ, Q = H_0⋯H_{n−3}, H_k = I − τ_k v_k v_kᵀ
    /// (LAPACK's blocked dsytrd/dlatrd, lower variant). Column c of the matrix is kept in row c of the array
    /// (symmetry), so every column access is contiguous and only the entries on or right of the diagonal are
    /// maintained. Per panel of <see cref="PanelWidth"/> columns the reflectors are built with one symmetric
    /// matrix–vector product each (the memory-bound half of the flops); the trailing matrix is then updated by the
    /// rank-2·nb product A22 −= V·Wᵀ + W·Vᵀ in float64 GEMM (the compute-bound half).
    /// Diagonal in d, sub-diagonal in e[0..n−2]; v_k (with v_k[0] = 1 stored) is left in row k from column k+1 on.
    /// </summary>
    private static void Tridiagonalize<T>(T[] a, int n, double[] d, double[] e, T[] tau, ComputeContext context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = new T[3L * PanelWidth * n];   // W, then room for the trailing update's copies of V and W
        var t = new T[PanelWidth];
        var t2 = new T[PanelWidth];
        using var symv = new SymmetricProduct<T>(n, context);
        T half = T.CreateTruncating(0.5);
        for (int k0 = 0; k0 < n - 1; k0 += PanelWidth)
        {
            int kb = Math.Min(PanelWidth, n - 1 - k0);
            for (int j = 0; j < kb; j++)
            {
                int i = k0 + j;
                var col = a.AsSpan(i * n + i, n - i);
                // Bring column i up to date with the panel's earlier reflectors: A(i:, i) −= V·W(i, :)ᵀ + W·V(i, :)ᵀ.
                for (int p = 0; p < j; p++)
                {
                    t[p] = w[p * n + i];
                    t2[p] = a[(k0 + p) * n + i];
                }
                SubtractRows(a, (long)k0 * n + i, j, n, t, col);
                SubtractRows(w, i, j, n, t2, col);
                d[i] = double.CreateTruncating(col[0]);
                int m = n - i - 1;
                var x = col[1..];
                // The reflector's scalars in float64 (the norm without overflow or underflow in float32 storage).
                double alpha = double.CreateTruncating(x[0]);
                double xnorm = m > 1 ? Norm64(x[1..]) : 0;
                if (xnorm == 0)
                {
                    tau[i] = T.Zero;
                    e[i] = alpha;
                }
                else
                {
                    double beta = -Math.CopySign(Hypot(alpha, xnorm), alpha);
                    tau[i] = T.CreateTruncating((beta - alpha) / beta);
                    TensorPrimitives.Multiply(x[1..], T.CreateTruncating(1.0 / (alpha - beta)), x[1..]);
                    e[i] = beta;
                }
                x[0] = T.One;
                var wj = w.AsSpan(j * n + i + 1, m);
                if (T.IsZero(tau[i]))
                {
                    wj.Clear();
                    continue;
                }
                // W(:, j) = τ·(A22·v − V·(Wᵀv) − W·(Vᵀv)), then W(:, j) −= (τ/2)(W(:, j)ᵀv)·v.
                symv.Multiply(a, i + 1, x, wj);
                RowDots(w, i + 1, j, n, x, t);                      // Wᵀv
                RowDots(a, (long)k0 * n + i + 1, j, n, x, t2);      // Vᵀv
                SubtractRows(a, (long)k0 * n + i + 1, j, n, t, wj);
                SubtractRows(w, i + 1, j, n, t2, wj);
                TensorPrimitives.Multiply(wj, tau[i], wj);
                T correction = -half * tau[i] * TensorPrimitives.Dot(wj, x);
                TensorPrimitives.MultiplyAdd(x, correction, wj, wj);
            }
            int r0 = k0 + kb, m2 = n - r0;
            if (m2 <= 0) continue;
            // Trailing update on the kept (upper, in memory) triangle: A22 −= Vᵀ·W + Wᵀ·V = [V; W]ᵀ·[W; V] with V, W as
            // kb × m2 row blocks — one GEMM of depth 2·kb, so A22 streams through memory once, not twice. The panel
            // buffer holds W, then copies of V and W below it: [V; W] and [W; V] are its rows kb… and 0… .
            for (int p = 0; p < kb; p++)
            {
                a.AsSpan((k0 + p) * n + r0, m2).CopyTo(w.AsSpan((kb + p) * n + r0, m2));
                w.AsSpan(p * n + r0, m2).CopyTo(w.AsSpan((2 * kb + p) * n + r0, m2));
            }
            var vw = new GemmOperand<T>(w, (long)kb * n + r0, 2 * kb, m2, n);
            var wv = new GemmOperand<T>(w, r0, 2 * kb, m2, n);
            var a22 = new GemmOperand<T>(a, (long)r0 * n + r0, m2, m2, n);
            GemmDriver<T>.Run(Transpose.Yes, Transpose.No, -T.One, vw, wv, T.One, a22, context, Triangle.Upper);
        }
        if (n >= 1) d[n - 1] = double.CreateTruncating(a[(long)(n - 1) * n + n - 1]);
        if (n >= 1) e[n - 1] = 0;
    }

    /// <summary>
    /// t[p] = row_p · x for the <paramref name="count"/> rows of length |x| at data[first + p·stride], four rows per
    /// pass over x: the panel's 2·j dot products per column were as many calls, each too short to pay for itself.
    /// </summary>
    private static void RowDots<T>(T[] data, long first, int count, int stride, ReadOnlySpan<T> x, Span<T> t)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = x.Length, full = m / Vector<T>.Count * Vector<T>.Count;
        var xv = AsVectors(x);
        int p = 0;
        for (; p + 4 <= count; p += 4)
        {
            var rows = new FourRows<T>(data, first + (long)p * stride, stride, m);
            ReadOnlySpan<T> r0 = rows.R0, r1 = rows.R1, r2 = rows.R2, r3 = rows.R3;
            ReadOnlySpan<Vector<T>> v0 = AsVectors(r0), v1 = AsVectors(r1), v2 = AsVectors(r2), v3 = AsVectors(r3);
            Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero, a2 = Vector<T>.Zero, a3 = Vector<T>.Zero;
            for (int v = 0; v < xv.Length; v++)
            {
                var xe = xv[v];
                a0 += v0[v] * xe;
                a1 += v1[v] * xe;
                a2 += v2[v] * xe;
                a3 += v3[v] * xe;
            }
            T s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
            for (int e = full; e < m; e++)
            {
                s0 += r0[e] * x[e];
                s1 += r1[e] * x[e];
                s2 += r2[e] * x[e];
                s3 += r3[e] * x[e];
            }
            t[p] = s0; t[p + 1] = s1; t[p + 2] = s2; t[p + 3] = s3;
        }
        for (; p < count; p++) t[p] = TensorPrimitives.Dot(new ReadOnlySpan<T>(data, (int)(first + (long)p * stride), m), x);
    }

    /// <summary>Four consecutive rows of length m at data[first], data[first + stride], ….</summary>
    private readonly ref struct FourRows<T>(T[] data, long first, int stride, int m)
    {
        public readonly ReadOnlySpan<T> R0 = new(data, (int)first, m), R1 = new(data, (int)(first + stride), m),
            R2 = new(data, (int)(first + 2L * stride), m), R3 = new(data, (int)(first + 3L * stride), m);
    }

    private static ReadOnlySpan<Vector<T>> AsVectors<T>(ReadOnlySpan<T> x) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(x);

    /// <summary>y −= Σ_p t[p]·row_p for the rows of <see cref="RowDots{T}"/>, four rows per pass over y.</summary>
    private static void SubtractRows<T>(T[] data, long first, int count, int stride, ReadOnlySpan<T> t, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = y.Length, full = m / Vector<T>.Count * Vector<T>.Count;
        var yv = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(y);
        int p = 0;
        for (; p + 4 <= count; p += 4)
        {
            var rows = new FourRows<T>(data, first + (long)p * stride, stride, m);
            ReadOnlySpan<T> r0 = rows.R0, r1 = rows.R1, r2 = rows.R2, r3 = rows.R3;
            ReadOnlySpan<Vector<T>> v0 = AsVectors(r0), v1 = AsVectors(r1), v2 = AsVectors(r2), v3 = AsVectors(r3);
            T t0 = t[p], t1 = t[p + 1], t2 = t[p + 2], t3 = t[p + 3];
            Vector<T> c0 = new(t0), c1 = new(t1), c2 = new(t2), c3 = new(t3);
            for (int v = 0; v < yv.Length; v++) yv[v] -= v0[v] * c0 + v1[v] * c1 + v2[v] * c2 + v3[v] * c3;
            for (int e = full; e < m; e++) y[e] -= r0[e] * t0 + r1[e] * t1 + r2[e] * t2 + r3[e] * t3;
        }
        for (; p < count; p++) TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(data, (int)(first + (long)p * stride), m), -t[p], y, y);
    }

    /// <summary>‖x‖₂ accumulated in float64, scaled by the largest magnitude so that neither squares overflow nor underflow.</summary>
    private static double Norm64<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double)) return double.CreateTruncating(TensorPrimitives.Norm(x));
        double scale = double.CreateTruncating(TensorPrimitives.MaxMagnitude(x));
        if (scale == 0 || !double.IsFinite(scale)) return scale;
        double sum = 0, inverse = 1 / scale;
        int i = 0;
        if (typeof(T) == typeof(float))
        {
            // Widened to float64 lanes (a scalar loop here was 5 % of the reduction at n = 2000).
            var lanes = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<float>>(x);
            var s = new Vector<double>(inverse);
            Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero;
            foreach (var v in lanes)
            {
                Vector.Widen(v, out var lo, out var hi);
                lo *= s;
                hi *= s;
                acc0 += lo * lo;
                acc1 += hi * hi;
            }
            sum = Vector.Sum(acc0 + acc1);
            i = lanes.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) { double y = double.CreateTruncating(x[i]) * inverse; sum += y * y; }
        return scale * Math.Sqrt(sum);
    }

    /// <summary>
    /// y = B·x for the trailing symmetric block B = A[r0:, r0:] of which only the entries on or right of the diagonal
    /// (in memory) are read: each stored row r contributes its dot product to y[r] and its off-diagonal part, scaled by
    /// x[r], to y[r+1:] — one pass over half the block. This pass is the memory-bound half of the tridiagonalisation,
    /// so eight rows (then four) go through the registers together (x and y are loaded once per eight matrix rows, and
    /// the dot products are independent FMA chains) to keep the matrix streaming at cache speed. The rows are split over
    /// the threads of a <see cref="SpinTeam"/> by area (one fork-join per column), each accumulating into its own y.
    /// </summary>
    internal sealed unsafe class SymmetricProduct<T>(int n, ComputeContext context) : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
    {
        private SpinTeam? _team;   // started by the first product large enough to share (small matrices never pay for threads)

        private readonly T[][] _partial = [.. Enumerable.Range(0, context.Threads).Select(_ => new T[n])];
        private readonly T[] _x = new T[n];

        public void Multiply(T[] a, int r0, ReadOnlySpan<T> x, Span<T> y)
        {
            int m = n - r0;
            // From about 250 rows the pass outlasts waking the team (measured at 300 rows: half the time on two threads).
            int threads = (long)m * m > 60_000 ? context.Threads : 1;
            x.CopyTo(_x);
            Action<int> rows = th =>
            {
                var (q0, q1) = Parallelism.ShareTriangle(m, th, threads);   // row q (local) holds m − q entries
                var part = _partial[th];
                Array.Clear(part, 0, m);
                fixed (T* pa = a, px = _x, py = part)
                {
                    T* block = pa + (long)r0 * n + r0;
                    switch (context.Path)
                    {
                        case SimdPath.Vector512: Accumulate<Simd512<T>, Vector512<T>>(block, n, m, q0, q1, px, py); break;
                        case SimdPath.Vector256: Accumulate<Simd256<T>, Vector256<T>>(block, n, m, q0, q1, px, py); break;
                        case SimdPath.Vector128: Accumulate<Simd128<T>, Vector128<T>>(block, n, m, q0, q1, px, py); break;
                        default: Accumulate<SimdScalar<T>, T>(block, n, m, q0, q1, px, py); break;
                    }
                }
            };
            if (threads == 1) rows(0);
            else (_team ??= new SpinTeam(threads)).Run(rows);
            _partial[0].AsSpan(0, m).CopyTo(y);
            for (int th = 1; th < threads; th++) TensorPrimitives.Add(y, _partial[th].AsSpan(0, m), y);
        }

        public void Dispose() => _team?.Dispose();

        /// <summary>Rows [q0, q1) of the m×m block at b (row stride n), x and y local to the block.</summary>
        internal static void Accumulate<O, V>(T* b, int n, int m, int q0, int q1, T* x, T* y)
            where O : ISimdOps<V, T> where V : struct
        {
            int w = O.Count;
            T* sums = stackalloc T[8 * w];
            int q = q0;
            for (; q + 8 <= q1; q += 8) Rows8<O, V>(b, n, m, q, x, y);
            for (; q + 4 <= q1; q += 4)
            {
                T* r0 = b + (long)q * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
                T x0 = x[q], x1 = x[q + 1], x2 = x[q + 2], x3 = x[q + 3];
                // The 4×4 triangle on the diagonal (stored entries (q+r, q+c), c ≥ r).
                T d0 = r0[q] * x0 + r0[q + 1] * x1 + r0[q + 2] * x2 + r0[q + 3] * x3;
                T d1 = r1[q + 1] * x1 + r1[q + 2] * x2 + r1[q + 3] * x3;
                T d2 = r2[q + 2] * x2 + r2[q + 3] * x3;
                T d3 = r3[q + 3] * x3;
                y[q + 1] += r0[q + 1] * x0;
                y[q + 2] += r0[q + 2] * x0 + r1[q + 2] * x1;
                y[q + 3] += r0[q + 3] * x0 + r1[q + 3] * x1 + r2[q + 3] * x2;
                // Columns q+4.. of all four rows.
                V s0 = O.Broadcast(x0), s1 = O.Broadcast(x1), s2 = O.Broadcast(x2), s3 = O.Broadcast(x3);
                V a0 = default(V), a1 = default(V), a2 = default(V), a3 = default(V);
                int j = q + 4;
                for (; j + w <= m; j += w)
                {
                    V xv = O.Load(x + j);
                    V v0 = O.Load(r0 + j), v1 = O.Load(r1 + j), v2 = O.Load(r2 + j), v3 = O.Load(r3 + j);
                    a0 = O.MultiplyAdd(v0, xv, a0);
                    a1 = O.MultiplyAdd(v1, xv, a1);
                    a2 = O.MultiplyAdd(v2, xv, a2);
                    a3 = O.MultiplyAdd(v3, xv, a3);
                    V yv = O.MultiplyAdd(v0, s0, O.Load(y + j));
                    yv = O.MultiplyAdd(v1, s1, yv);
                    yv = O.MultiplyAdd(v2, s2, yv);
                    O.Store(O.MultiplyAdd(v3, s3, yv), y + j);
                }
                O.Store(a0, sums);
                O.Store(a1, sums + w);
                O.Store(a2, sums + 2 * w);
                O.Store(a3, sums + 3 * w);
                for (int t = 0; t < w; t++)
                {
                    d0 += sums[t];
                    d1 += sums[w + t];
                    d2 += sums[2 * w + t];
                    d3 += sums[3 * w + t];
                }
                for (; j < m; j++)
                {
                    T xj = x[j];
                    d0 += r0[j] * xj;
                    d1 += r1[j] * xj;
                    d2 += r2[j] * xj;
                    d3 += r3[j] * xj;
                    y[j] += r0[j] * x0 + r1[j] * x1 + r2[j] * x2 + r3[j] * x3;
                }
                y[q] += d0;
                y[q + 1] += d1;
                y[q + 2] += d2;
                y[q + 3] += d3;
            }
            for (; q < q1; q++)
            {
                T* r = b + (long)q * n;
                T xq = x[q], dot = r[q] * xq;
                for (int j = q + 1; j < m; j++)
                {
                    dot += r[j] * x[j];
                    y[j] += r[j] * xq;
                }
                y[q] += dot;
            }
        }

        /// <summary>
        /// Rows q..q+7 of <see cref="Accumulate{O, V}"/> in one pass: x and y are loaded (and y stored) once per eight
        /// matrix rows instead of four — the pass is bound by loads from the cache the block sits in, and on the 256-bit
        /// path those two loads and the store were a third of the traffic.
        /// </summary>
        private static void Rows8<O, V>(T* b, int n, int m, int q, T* x, T* y)
            where O : ISimdOps<V, T> where V : struct
        {
            int w = O.Count;
            T* r0 = b + (long)q * n;
            // The 8×8 triangle on the diagonal (stored entries (q+r, q+c), c ≥ r).
            T* d = stackalloc T[8];
            for (int r = 0; r < 8; r++)
            {
                T* row = r0 + (long)r * n;
                T dot = T.Zero;
                for (int c = r; c < 8; c++) dot += row[q + c] * x[q + c];
                d[r] = dot;
                for (int c = r + 1; c < 8; c++) y[q + c] += row[q + c] * x[q + r];
            }
            T* r1 = r0 + n, r2 = r1 + n, r3 = r2 + n, r4 = r3 + n, r5 = r4 + n, r6 = r5 + n, r7 = r6 + n;
            V s0v = O.Broadcast(x[q]), s1 = O.Broadcast(x[q + 1]), s2 = O.Broadcast(x[q + 2]), s3 = O.Broadcast(x[q + 3]);
            V s4 = O.Broadcast(x[q + 4]), s5 = O.Broadcast(x[q + 5]), s6 = O.Broadcast(x[q + 6]), s7 = O.Broadcast(x[q + 7]);
            V a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            int j = q + 8;
            // Columns j.. in whole vectors ending at m: the first one starts up to w − 1 columns early, with those lanes
            // masked off (they lie left of column q + 8, in the 8×8 block done above or the triangle never formed), so
            // no scalar tail is left — at m = 500 the tail and the sums below cost more than the vector loop. Not
            // when that start would fall before the block (the first rows only).
            int head = (m - j) % w;
            if (head != 0 && j + head - w >= 0)
            {
                int s0 = j + head - w, first = w - head;
                V xv = O.Load(x + s0);
                V v0 = O.LoadFrom(r0 + s0, first), v1 = O.LoadFrom(r1 + s0, first);
                a0 = O.MultiplyAdd(v0, xv, a0);
                a1 = O.MultiplyAdd(v1, xv, a1);
                V yv = O.MultiplyAdd(v1, s1, O.MultiplyAdd(v0, s0v, O.Load(y + s0)));
                v0 = O.LoadFrom(r2 + s0, first); v1 = O.LoadFrom(r3 + s0, first);
                a2 = O.MultiplyAdd(v0, xv, a2);
                a3 = O.MultiplyAdd(v1, xv, a3);
                yv = O.MultiplyAdd(v1, s3, O.MultiplyAdd(v0, s2, yv));
                v0 = O.LoadFrom(r4 + s0, first); v1 = O.LoadFrom(r5 + s0, first);
                a4 = O.MultiplyAdd(v0, xv, a4);
                a5 = O.MultiplyAdd(v1, xv, a5);
                yv = O.MultiplyAdd(v1, s5, O.MultiplyAdd(v0, s4, yv));
                v0 = O.LoadFrom(r6 + s0, first); v1 = O.LoadFrom(r7 + s0, first);
                a6 = O.MultiplyAdd(v0, xv, a6);
                a7 = O.MultiplyAdd(v1, xv, a7);
                O.Store(O.MultiplyAdd(v1, s7, O.MultiplyAdd(v0, s6, yv)), y + s0);
                j = s0 + w;
            }
            for (; j + w <= m; j += w)
            {
                V xv = O.Load(x + j);
                V v0 = O.Load(r0 + j), v1 = O.Load(r1 + j);
                a0 = O.MultiplyAdd(v0, xv, a0);
                a1 = O.MultiplyAdd(v1, xv, a1);
                V yv = O.MultiplyAdd(v1, s1, O.MultiplyAdd(v0, s0v, O.Load(y + j)));
                v0 = O.Load(r2 + j); v1 = O.Load(r3 + j);
                a2 = O.MultiplyAdd(v0, xv, a2);
                a3 = O.MultiplyAdd(v1, xv, a3);
                yv = O.MultiplyAdd(v1, s3, O.MultiplyAdd(v0, s2, yv));
                v0 = O.Load(r4 + j); v1 = O.Load(r5 + j);
                a4 = O.MultiplyAdd(v0, xv, a4);
                a5 = O.MultiplyAdd(v1, xv, a5);
                yv = O.MultiplyAdd(v1, s5, O.MultiplyAdd(v0, s4, yv));
                v0 = O.Load(r6 + j); v1 = O.Load(r7 + j);
                a6 = O.MultiplyAdd(v0, xv, a6);
                a7 = O.MultiplyAdd(v1, xv, a7);
                O.Store(O.MultiplyAdd(v1, s7, O.MultiplyAdd(v0, s6, yv)), y + j);
            }
            d[0] += O.Sum(a0); d[1] += O.Sum(a1); d[2] += O.Sum(a2); d[3] += O.Sum(a3);
            d[4] += O.Sum(a4); d[5] += O.Sum(a5); d[6] += O.Sum(a6); d[7] += O.Sum(a7);
            for (; j < m; j++)
            {
                T xj = x[j], yj = T.Zero;
                for (int r = 0; r < 8; r++)
                {
                    T v = r0[(long)r * n + j];
                    d[r] += v * xj;
                    yj += v * x[q + r];
                }
                y[j] += yj;
            }
            for (int r = 0; r < 8; r++) y[q + r] += d[r];
        }
    }

    /// <summary>Reflectors per block: each block streams X through memory twice, so wider blocks halve that traffic.</summary>
    private const int ReflectorBlockSize = 128;

    /// <summary>
    /// A block of the reflectors <see cref="Tridiagonalize"/> left in the array, in LAPACK's compact WY form (dlarft,
    /// forward): H_j⋯H_{j+nb−1} = I − Vᵀ·T·V with V the nb reflectors as rows (m = n − j − 1 columns, the rows of X
    /// the block touches; unit entry at local column p, zeros before it) and T upper triangular. One instance serves
    /// every block: fresh pages per block cost more than the copy.
    /// </summary>
    private sealed class ReflectorBlock(int n, ComputeContext context)
    {
        private readonly double[] _g = new double[ReflectorBlockSize * ReflectorBlockSize];
        private readonly double[] _column = new double[ReflectorBlockSize];

        /// <summary>V, kb × m in float64 (row stride m).</summary>
        public double[] V { get; } = new double[(long)ReflectorBlockSize * n];

        /// <summary>T, kb × kb in float64 (row stride <see cref="ReflectorBlockSize"/>).</summary>
        public double[] T { get; } = new double[ReflectorBlockSize * ReflectorBlockSize];

        /// <summary>Loads reflectors j0 … j0 + kb − 1 from <paramref name="a"/> and forms T.</summary>
        public void Load<TA>(TA[] a, TA[] tau, int j0, int kb) where TA : unmanaged, IFloatingPointIeee754<TA>
        {
            const int nb = ReflectorBlockSize;
            int m = n - j0 - 1;
            for (int p = 0; p < kb; p++)
            {
                V.AsSpan(p * m, p).Clear();
                TensorPrimitives.ConvertTruncating<TA, double>(new ReadOnlySpan<TA>(a, (j0 + p) * n + j0 + p + 1, m - p), V.AsSpan(p * m + p, m - p));
            }
            // T[p,p] = τ_p, T[0:p, p] = −τ_p·T[0:p, 0:p]·g with g = (V·v_pᵀ)[0:p] = G[p, 0:p] (G = V·Vᵀ symmetric:
            // its upper triangle by GEMM, mirrored, so that g is a contiguous row for the dot products below).
            var vb = DoubleBlock.Of(V, kb, m);
            var gb = DoubleBlock.Of(_g, kb, kb);
            DoubleGemm.Compute(Transpose.No, Transpose.Yes, 1, vb, vb, 0, gb, upperOnly: true, context: context);
            for (int p = 1; p < kb; p++)
                for (int r = 0; r < p; r++) _g[p * kb + r] = _g[r * kb + p];
            Array.Clear(T);
            for (int p = 0; p < kb; p++)
            {
                double tp = double.CreateTruncating(tau[j0 + p]);
                // Rows 0..p−1 of T, zero left of their diagonal, dotted with g over the whole of 0..p−1: twice the
                // flops of the triangle but four rows per pass (one call per entry took 10 ms per decomposition).
                RowDots(T, 0, p, nb, new ReadOnlySpan<double>(_g, p * kb, p), _column);
                for (int q = 0; q < p; q++) T[q * nb + p] = -tp * _column[q];
                T[p * nb + p] = tp;
            }
        }
    }

    /// <summary>
    /// X ← Q·X for Q = H_0⋯H_{n−3} from <see cref="Tridiagonalize"/> (LAPACK's dormtr with the compact WY form),
    /// a block of reflectors at a time from the last: X[R, :] −= Vᵀ·(T·(V·X[R, :])) for the rows R the block
    /// touches: three float64 GEMMs. X is n×n row-major.
    /// </summary>
    private static void ApplyReflectors(double[] a, int n, double[] tau, double[] x, ComputeContext context)
    {
        int reflectors = n - 2;
        if (reflectors <= 0) return;
        const int nb = ReflectorBlockSize;
        var block = new ReflectorBlock(n, context);
        var y = new double[(long)nb * n];
        var y2 = new double[(long)nb * n];
        for (int j0 = (reflectors - 1) / nb * nb; j0 >= 0; j0 -= nb)
        {
            int kb = Math.Min(nb, reflectors - j0);
            int r0 = j0 + 1, m = n - r0;
            block.Load(a, tau, j0, kb);
            var vb = DoubleBlock.Of(block.V, kb, m);
            var tb = new DoubleBlock(block.T, 0, kb, kb, nb);
            var xr = new DoubleBlock(x, (long)r0 * n, m, n, n);
            var yb = DoubleBlock.Of(y, kb, n);
            var y2b = DoubleBlock.Of(y2, kb, n);
            DoubleGemm.Compute(Transpose.No, Transpose.No, 1, vb, xr, 0, yb, context: context);      // V·X_R
            DoubleGemm.Compute(Transpose.No, Transpose.No, 1, tb, yb, 0, y2b, context: context);     // T·(V·X_R)
            DoubleGemm.Compute(Transpose.Yes, Transpose.No, -1, vb, y2b, 1, xr, context: context);   // X_R −= Vᵀ·…
        }
    }

    /// <summary>
    /// The same on an n × k block of eigenvectors in float32: V and T are formed in float64 and rounded once per block,
    /// the three products run in float32 (twice the float64 rate). Each block is an orthogonal update, so its rounding
    /// adds a few ulps of float32 to the vectors, which are float32 already.
    /// </summary>
    private static void ApplyReflectors<TA>(TA[] a, int n, TA[] tau, Matrix x, ComputeContext context) where TA : unmanaged, IFloatingPointIeee754<TA>
    {
        int reflectors = n - 2;
        if (reflectors <= 0) return;
        const int nb = ReflectorBlockSize;
        int k = x.Columns;
        var block = new ReflectorBlock(n, context);
        var v = new float[(long)nb * n];
        var t = new float[nb * nb];
        var y = new float[(long)nb * k];
        var y2 = new float[(long)nb * k];
        for (int j0 = (reflectors - 1) / nb * nb; j0 >= 0; j0 -= nb)
        {
            int kb = Math.Min(nb, reflectors - j0);
            int r0 = j0 + 1, m = n - r0;
            block.Load(a, tau, j0, kb);
            TensorPrimitives.ConvertTruncating<double, float>(block.V.AsSpan(0, kb * m), v.AsSpan(0, kb * m));
            for (int p = 0; p < kb; p++)
                TensorPrimitives.ConvertTruncating<double, float>(block.T.AsSpan(p * nb, kb), t.AsSpan(p * kb, kb));
            var vb = new MatrixView(v, 0, kb, m, m);
            var tb = new MatrixView(t, 0, kb, kb, kb);
            var xr = x.View.Block(r0, 0, m, k);
            var yb = new MatrixView(y, 0, kb, k, k);
            var y2b = new MatrixView(y2, 0, kb, k, k);
            Gemm.Compute(Transpose.No, Transpose.No, 1, vb, xr, 0, yb, context);       // V·X_R
            Gemm.Compute(Transpose.No, Transpose.No, 1, tb, yb, 0, y2b, context);      // T·(V·X_R)
            Gemm.Compute(Transpose.Yes, Transpose.No, -1, vb, y2b, 1, xr, context);    // X_R −= Vᵀ·…
        }
    }

    /// <summary>
    /// Implicit QL with Wilkinson shifts on the tridiagonal (d, e), applying every rotation to the rows of z
    /// (row i = current eigenvector i). On return d holds the eigenvalues.
    /// </summary>
    internal static void QlImplicit(double[] d, double[] e, double[] z, int n, ComputeContext? context = null)
    {
        const int maxSweeps = 60;
        var cs = new double[n];
        var sn = new double[n];
        var log = new RotationLog(z, n, context ?? ComputeContext.Default);
        for (int l = 0; l < n; l++)
        {
            int sweeps = 0;
            while (true)
            {
                int m = l;
                for (; m < n - 1; m++)
                {
                    double dd = Math.Abs(d[m]) + Math.Abs(d[m + 1]);
                    if (Math.Abs(e[m]) <= double.Epsilon || Math.Abs(e[m]) <= 1e-16 * dd) break;
                }
                if (m == l) break;
                if (++sweeps > maxSweeps)
                    throw new InvalidOperationException(
                        $"The symmetric eigensolver did not converge for eigenpair {l + 1} of {n} after {maxSweeps} QL sweeps (off-diagonal still {e[l]:G3}).");
                double g = (d[l + 1] - d[l]) / (2 * e[l]);
                double r = Hypot(g, 1);
                g = d[m] - d[l] + e[l] / (g + Math.CopySign(r, g));
                double s = 1, c = 1, p = 0;
                int i = m - 1;
                bool underflow = false;
                for (; i >= l; i--)
                {
                    double f = s * e[i], b = c * e[i];
                    r = Hypot(f, g);
                    e[i + 1] = r;
                    if (r == 0)
                    {
                        d[i + 1] -= p;
                        e[m] = 0;
                        underflow = true;
                        break;
                    }
                    s = f / r;
                    c = g / r;
                    g = d[i + 1] - p;
                    r = (d[i] - g) * s + 2 * c * b;
                    p = s * r;
                    d[i + 1] = g + p;
                    g = c * r - b;
                    cs[i] = c;
                    sn[i] = s;
                }
                int first = underflow ? i + 1 : l;
                log.Add(cs, sn, first, m - 1);
                if (underflow) continue;
                d[l] -= p;
                e[l] = g;
                e[m] = 0;
            }
        }
        log.Flush();
    }

    /// <summary>
    /// The QL rotations, recorded and applied to the eigenvector rows later. The rotation parameters never depend on
    /// the vectors, so instead of streaming all n columns through memory once per QL sweep, the log replays many
    /// sweeps on one narrow column tile at a time while that tile stays in cache (each rotation chain carries its
    /// running row in registers: one load and one store per rotation).
    /// </summary>
    private sealed class RotationLog(double[] z, int n, ComputeContext context)
    {
        private const int MaxRotations = 1 << 21;   // 32 MiB of parameters before a replay
        private readonly List<(int Lo, int Hi, int Offset)> _chains = [];
        private double[] _c = new double[Math.Max(1024, 4 * n)];
        private double[] _s = new double[Math.Max(1024, 4 * n)];
        private int _count;

        /// <summary>Records the chain of rotations i = hi … lo on row pairs (i, i + 1).</summary>
        public void Add(double[] cs, double[] sn, int lo, int hi)
        {
            if (hi < lo) return;
            int len = hi - lo + 1;
            if (_count + len > _c.Length)
            {
                if (_count + len > MaxRotations) Flush();
                if (_count + len > _c.Length)
                {
                    int size = Math.Max(_c.Length * 2, _count + len);
                    Array.Resize(ref _c, size);
                    Array.Resize(ref _s, size);
                }
            }
            Array.Copy(cs, lo, _c, _count, len);
            Array.Copy(sn, lo, _s, _count, len);
            _chains.Add((lo, hi, _count));
            _count += len;
        }

        /// <summary>Applies every recorded chain, in order, to the rows of z; column tiles are split over the threads.</summary>
        public void Flush()
        {
            if (_chains.Count == 0) return;
            int w = System.Numerics.Vector.IsHardwareAccelerated ? System.Numerics.Vector<double>.Count : 1;
            int tile = 4 * w;
            int tiles = (n + tile - 1) / tile;
            int threads = (long)_count * n > 2_000_000 ? Math.Min(context.Threads, tiles) : 1;
            Parallelism.Run(threads, th =>
            {
                var (t0, t1) = Parallelism.Share(tiles, th, threads);
                for (int t = t0; t < t1; t++)
                {
                    int c0 = t * tile;
                    if (w > 1 && c0 + tile <= n) ReplayTile(c0);
                    else for (int c = c0; c < Math.Min(n, c0 + tile); c++) ReplayColumn(c);
                }
            });
            _chains.Clear();
            _count = 0;
        }

        private void ReplayTile(int c0)
        {
            int w = System.Numerics.Vector<double>.Count;
            var zs = z.AsSpan();
            foreach (var (lo, hi, offset) in _chains)
            {
                // (x, y) ← (c·x − s·y, s·x + c·y) for x = row i, y = row i + 1, i = hi … lo; row i + 1 is final after step i.
                var y0 = new System.Numerics.Vector<double>(zs.Slice((hi + 1) * n + c0));
                var y1 = new System.Numerics.Vector<double>(zs.Slice((hi + 1) * n + c0 + w));
                var y2 = new System.Numerics.Vector<double>(zs.Slice((hi + 1) * n + c0 + 2 * w));
                var y3 = new System.Numerics.Vector<double>(zs.Slice((hi + 1) * n + c0 + 3 * w));
                for (int i = hi; i >= lo; i--)
                {
                    var vc = new System.Numerics.Vector<double>(_c[offset + i - lo]);
                    var vs = new System.Numerics.Vector<double>(_s[offset + i - lo]);
                    var row = zs.Slice(i * n + c0);
                    var below = zs.Slice((i + 1) * n + c0);
                    var x0 = new System.Numerics.Vector<double>(row);
                    var x1 = new System.Numerics.Vector<double>(row[w..]);
                    var x2 = new System.Numerics.Vector<double>(row[(2 * w)..]);
                    var x3 = new System.Numerics.Vector<double>(row[(3 * w)..]);
                    (vs * x0 + vc * y0).CopyTo(below);
                    (vs * x1 + vc * y1).CopyTo(below[w..]);
                    (vs * x2 + vc * y2).CopyTo(below[(2 * w)..]);
                    (vs * x3 + vc * y3).CopyTo(below[(3 * w)..]);
                    y0 = vc * x0 - vs * y0;
                    y1 = vc * x1 - vs * y1;
                    y2 = vc * x2 - vs * y2;
                    y3 = vc * x3 - vs * y3;
                }
                var top = zs.Slice(lo * n + c0);
                y0.CopyTo(top);
                y1.CopyTo(top[w..]);
                y2.CopyTo(top[(2 * w)..]);
                y3.CopyTo(top[(3 * w)..]);
            }
        }

        private void ReplayColumn(int c)
        {
            foreach (var (lo, hi, offset) in _chains)
            {
                double y = z[(hi + 1) * n + c];
                for (int i = hi; i >= lo; i--)
                {
                    double cc = _c[offset + i - lo], ss = _s[offset + i - lo], x = z[i * n + c];
                    z[(i + 1) * n + c] = ss * x + cc * y;
                    y = cc * x - ss * y;
                }
                z[lo * n + c] = y;
            }
        }
    }

    /// <summary>√(a² + b²) without overflow or harmful underflow.</summary>
    internal static double Hypot(double a, double b)
    {
        a = Math.Abs(a);
        b = Math.Abs(b);
        if (a < b) (a, b) = (b, a);
        if (a == 0) return 0;
        double r = b / a;
        return a * Math.Sqrt(1 + r * r);
    }
}
