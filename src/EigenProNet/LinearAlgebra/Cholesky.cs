using System.Numerics;
using System.Runtime.Intrinsics;

namespace EigenProNet.LinearAlgebra;

/// <summary>The matrix was not positive definite (to working precision), even after the allowed jitter.</summary>
public sealed class NotPositiveDefiniteException(string message) : InvalidOperationException(message);

/// <summary>
/// A Cholesky factor A + jitter·I = L·Lᵀ (L lower triangular, float32 storage) with solves for several right-hand
/// sides. Created by <see cref="Cholesky.Factor"/>.
/// </summary>
public sealed class CholeskyFactor
{
    internal CholeskyFactor(Matrix lower, double jitter, ComputeContext context)
    {
        Lower = lower;
        Jitter = jitter;
        _context = context;
    }

    private readonly ComputeContext _context;

    /// <summary>L (the strictly upper triangle is zero).</summary>
    public Matrix Lower { get; }

    /// <summary>The diagonal jitter that was added for the factorisation to succeed (0 when none was needed).</summary>
    public double Jitter { get; }

    /// <summary>Order n.</summary>
    public int Size => Lower.Rows;

    /// <summary>L in float64 (row-major n × n), made on the first solve and kept: solves then run as float64 GEMMs.</summary>
    private double[]? _lower64;
    private readonly object _gate = new();

    private const int SolveBlock = 128;

    /// <summary>
    /// Solves (A + jitter·I)·X = B for X (n × c) in float64: blocked forward then back substitution, the products
    /// with the off-diagonal blocks of L as float64 GEMMs and the 128×128 diagonal blocks by substitution. The first
    /// call keeps a float64 copy of L (8·n² bytes); later solves (a solver projecting every batch) reuse it.
    /// </summary>
    /// <exception cref="ArgumentException">B does not have n rows, or holds NaN/Inf.</exception>
    public Matrix Solve(MatrixView b)
    {
        Guard.Rows(b, Size, nameof(b));
        Guard.AllFinite(b, nameof(b));
        int n = Size, c = b.Columns;
        var result = new Matrix(n, c);
        if (n == 0 || c == 0) return result;
        var l = Lower64();
        var x = new double[(long)n * c];
        for (int i = 0; i < n; i++)
        {
            var bi = b.Row(i);
            for (int j = 0; j < c; j++) x[(long)i * c + j] = bi[j];
        }
        var lb = DoubleBlock.Of(l, n, n);
        var xb = DoubleBlock.Of(x, n, c);
        // L·Y = B: X_I ← (X_I − L[I, 0:I]·X[0:I]) solved with L_II.
        for (int i0 = 0; i0 < n; i0 += SolveBlock)
        {
            int nb = Math.Min(SolveBlock, n - i0);
            if (i0 > 0)
                DoubleGemm.Compute(Transpose.No, Transpose.No, -1, lb.Block(i0, 0, nb, i0), xb.Block(0, 0, i0, c), 1, xb.Block(i0, 0, nb, c),
                    context: _context);
            for (int i = i0; i < i0 + nb; i++)
            {
                long li = (long)i * n;
                for (int j = 0; j < c; j++)
                {
                    double s = x[(long)i * c + j];
                    for (int p = i0; p < i; p++) s -= l[li + p] * x[(long)p * c + j];
                    x[(long)i * c + j] = s / l[li + i];
                }
            }
        }
        // Lᵀ·X = Y: X_I ← (X_I − L[I+1:, I]ᵀ·X[I+1:]) solved with L_IIᵀ, last block first.
        for (int i0 = (n - 1) / SolveBlock * SolveBlock; i0 >= 0; i0 -= SolveBlock)
        {
            int nb = Math.Min(SolveBlock, n - i0), i1 = i0 + nb;
            if (i1 < n)
                DoubleGemm.Compute(Transpose.Yes, Transpose.No, -1, lb.Block(i1, i0, n - i1, nb), xb.Block(i1, 0, n - i1, c), 1,
                    xb.Block(i0, 0, nb, c), context: _context);
            for (int i = i1 - 1; i >= i0; i--)
            {
                for (int j = 0; j < c; j++)
                {
                    double s = x[(long)i * c + j];
                    for (int p = i + 1; p < i1; p++) s -= l[(long)p * n + i] * x[(long)p * c + j];
                    x[(long)i * c + j] = s / l[(long)i * n + i];
                }
            }
        }
        for (long i = 0; i < x.Length; i++) result.Data[i] = (float)x[i];
        return result;
    }

    private double[] Lower64()
    {
        lock (_gate)
        {
            if (_lower64 is not null) return _lower64;
            int n = Size;
            var l = new double[(long)n * n];
            for (int i = 0; i < n; i++)
            {
                var row = Lower.Row(i);
                for (int j = 0; j <= i; j++) l[(long)i * n + j] = row[j];
            }
            return _lower64 = l;
        }
    }
}

/// <summary>Blocked Cholesky factorisation of symmetric positive-definite float32 matrices.</summary>
/// <remarks>
/// Recursive (Gustavson; Ahmed and Pingali): A = [A11 ·; A21 A22] is factored as L11 = chol(A11), L21 = A21·L11⁻ᵀ,
/// L22 = chol(A22 − L21·L21ᵀ), halving down to <see cref="Leaf"/> columns. Nearly all the flops land in large
/// float32 products — the symmetric rank-k update of the trailing half and the products inside the recursive
/// triangular solve — instead of a sequence of 128-wide panels (a right-looking loop spends its time in thin updates
/// and in the panel solves). The leaves stay exact to float32 rounding: diagonal blocks are factored in float64, and
/// each 32-column leaf of the triangular solve multiplies by the float64 inverse of its 32×32 diagonal factor,
/// rounded to float32 (the error that adds grows with that small block's condition number only).
/// </remarks>
public static class Cholesky
{
    /// <summary>Columns below which a diagonal block is factored directly (in float64).</summary>
    private const int Leaf = 64;

    /// <summary>Columns of a leaf of the triangular solve (a multiple of 8, the split granularity).</summary>
    private const int SolveLeaf = 32;

    /// <summary>
    /// Factors A (+ jitter·I). When the factorisation fails and <paramref name="maxJitterAttempts"/> &gt; 0, retries
    /// with jitter 1e-7·mean(diag A), growing 100× per attempt; <see cref="CholeskyFactor.Jitter"/> reports what was used.
    /// </summary>
    /// <exception cref="ArgumentException">Not square, not symmetric, or NaN/Inf.</exception>
    /// <exception cref="NotPositiveDefiniteException">Still not positive definite after the last attempt (names the pivot).</exception>
    public static CholeskyFactor Factor(MatrixView a, int maxJitterAttempts = 4, ComputeContext? context = null)
    {
        context ??= ComputeContext.Default;
        SymmetricEigen.Validate(a, nameof(a));
        if (maxJitterAttempts < 0) throw new ArgumentOutOfRangeException(nameof(maxJitterAttempts), maxJitterAttempts, "Expected >= 0.");
        int n = a.Rows;
        double meanDiag = 0;
        for (int i = 0; i < n; i++) meanDiag += a[i, i];
        meanDiag = n == 0 ? 0 : Math.Abs(meanDiag / n);
        double jitter = 0;
        for (int attempt = 0; ; attempt++)
        {
            var l = new Matrix(n, n);
            for (int i = 0; i < n; i++)
            {
                a.Row(i)[..(i + 1)].CopyTo(l.Row(i));
                l[i, i] = (float)(a[i, i] + jitter);
            }
            int failed = TryFactorInPlace(l, context);
            if (failed < 0) return new CholeskyFactor(l, jitter, context);
            if (attempt >= maxJitterAttempts)
                throw new NotPositiveDefiniteException(
                    $"The matrix is not positive definite: pivot {failed + 1} of {n} is not positive" +
                    (attempt == 0 ? "." : $", even with diagonal jitter {jitter:G3} after {attempt} retries."));
            jitter = jitter == 0 ? Math.Max(1e-7 * meanDiag, 1e-30) : jitter * 100;
        }
    }

    /// <summary>
    /// Factors A in place, as LAPACK's spotrf: on return <paramref name="a"/> holds L (its strictly upper triangle
    /// zeroed) and the factor shares that storage — no second n × n matrix, for when A is not needed afterwards.
    /// There is no jitter retry (the input is gone once the factorisation has begun); use <see cref="Factor"/> for that.
    /// </summary>
    /// <exception cref="ArgumentException">Not square, not symmetric, or NaN/Inf.</exception>
    /// <exception cref="NotPositiveDefiniteException">A is not positive definite (names the pivot); <paramref name="a"/> is then overwritten.</exception>
    public static CholeskyFactor FactorInPlace(Matrix a, ComputeContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        context ??= ComputeContext.Default;
        SymmetricEigen.Validate(a, nameof(a));
        int failed = TryFactorInPlace(a, context);
        if (failed >= 0)
            throw new NotPositiveDefiniteException($"The matrix is not positive definite: pivot {failed + 1} of {a.Rows} is not positive.");
        return new CholeskyFactor(a, 0, context);
    }

    /// <summary>Overwrites the lower triangle of <paramref name="l"/> with its factor; returns −1, or the failing pivot.</summary>
    private static int TryFactorInPlace(Matrix l, ComputeContext context)
    {
        int n = l.Rows;
        var scratch = new Scratch(n, context);
        int failed = FactorRecursive(l.View, 0, scratch, context);
        if (failed >= 0) return failed;
        for (int i = 0; i < n; i++) l.Row(i)[(i + 1)..].Clear();
        return -1;
    }

    /// <summary>
    /// Reusable buffers: the float64 leaf block and inverse, and the float32 transposed inverses of the 32×32 diagonal
    /// blocks of L (block q in rows 32q.., made once when its block is factored and used by every solve beneath it).
    /// </summary>
    private sealed class Scratch(int n, ComputeContext context)
    {
        public readonly double[] Block = new double[Leaf * Leaf];
        public readonly double[] Inverse = new double[SolveLeaf * SolveLeaf];
        public readonly Matrix InversesTransposed = new((n + SolveLeaf - 1) / SolveLeaf * SolveLeaf, SolveLeaf);
        /// <summary>The context of one thread's share of a triangular solve.</summary>
        public readonly ComputeContext Serial = context.Threads == 1 ? context : context.WithThreads(1);
    }

    /// <summary>Factors the lower triangle of the square view <paramref name="a"/> (its first column is global column <paramref name="origin"/>, a multiple of 32) in place.</summary>
    private static int FactorRecursive(MatrixView a, int origin, Scratch scratch, ComputeContext context)
    {
        int n = a.Rows;
        if (n <= Leaf)
        {
            int failedLeaf = FactorLeaf(a, origin, scratch.Block);
            if (failedLeaf >= 0) return failedLeaf;
            for (int q = 0; q < n; q += SolveLeaf)
                InvertLeaf(a.Block(q, q, Math.Min(SolveLeaf, n - q), Math.Min(SolveLeaf, n - q)), (origin + q) / SolveLeaf, scratch);
            return -1;
        }
        // The first half rounded to whole solve leaves, so the triangular solves below split into 32-column leaves.
        int n1 = (n / 2 + SolveLeaf - 1) / SolveLeaf * SolveLeaf;
        var a11 = a.Block(0, 0, n1, n1);
        var a21 = a.Block(n1, 0, n - n1, n1);
        var a22 = a.Block(n1, n1, n - n1, n - n1);
        int failed = FactorRecursive(a11, origin, scratch, context);
        if (failed >= 0) return failed;
        SolveRightTransposed(a21, a11, origin, scratch, context);
        // A22 −= L21·L21ᵀ: lower tiles only, no mirror (only the lower triangle is ever read).
        Gemm.SymmetricRankK(Transpose.No, -1f, a21, 1f, a22, context, mirror: false);
        return FactorRecursive(a22, origin + n1, scratch, context);
    }

    /// <summary>
    /// X ← X·L⁻ᵀ for X (r × w) and the lower-triangular factor L (w × w, w a multiple of 32, at global column
    /// <paramref name="origin"/>). The rows of X are independent, so each thread solves its own share of them whole,
    /// on one thread: the recursion's many thin products (depths 32 to 96) then never wait for each other, where one
    /// two-thread product each synchronised 275 times per factorisation at n = 3072.
    /// </summary>
    private static void SolveRightTransposed(MatrixView x, MatrixView l, int origin, Scratch scratch, ComputeContext context)
    {
        int r = x.Rows, w = l.Rows;
        int threads = (int)Math.Clamp((long)r * w * w / 4_000_000, 1, Math.Min(context.Threads, Math.Max(1, r / 8)));
        if (threads == 1) { SolveRows(x, l, origin, scratch, scratch.Serial); return; }
        Parallelism.Run(threads, t =>
        {
            var (r0, r1) = Parallelism.Share(r, t, threads);
            SolveRows(x.Block(r0, 0, r1 - r0, w), l, origin, scratch, scratch.Serial);
        });
    }

    /// <summary>The recursion of <see cref="SolveRightTransposed"/> on column halves, on the given context.</summary>
    private static void SolveRows(MatrixView x, MatrixView l, int origin, Scratch scratch, ComputeContext context)
    {
        int w = l.Rows;
        if (x.Rows == 0) return;
        if (w == SolveLeaf)
        {
            ApplyInverseTransposed(x, scratch.InversesTransposed.View.Block(origin, 0, SolveLeaf, SolveLeaf), context.Path);
            return;
        }
        // [X1 X2]·[L11ᵀ L21ᵀ; 0 L22ᵀ] = [B1 B2]: X1 = B1·L11⁻ᵀ, then X2 = (B2 − X1·L21ᵀ)·L22⁻ᵀ.
        int w1 = (w / 2 + SolveLeaf - 1) / SolveLeaf * SolveLeaf;
        var x1 = x.Block(0, 0, x.Rows, w1);
        var x2 = x.Block(0, w1, x.Rows, w - w1);
        SolveRows(x1, l.Block(0, 0, w1, w1), origin, scratch, context);
        Gemm.Compute(Transpose.No, Transpose.Yes, -1f, x1, l.Block(w1, 0, w - w1, w1), 1f, x2, context);
        SolveRows(x2, l.Block(w1, w1, w - w1, w - w1), origin + w1, scratch, context);
    }

    /// <summary>
    /// The solve's leaf in place: each row x of X (r × 32) becomes x·M with M = (L⁻¹)ᵀ of a 32×32 diagonal block, i.e.
    /// Σ_p x_p·M[p, :] — four rows at a time, their inputs copied aside first so the result can overwrite them.
    /// </summary>
    private static unsafe void ApplyInverseTransposed(MatrixView x, MatrixView m, SimdPath path)
    {
        fixed (float* px = x.Storage, pm = m.Storage)
        {
            float* xs = px + x.Offset, ms = pm + m.Offset;
            switch (path)
            {
                case SimdPath.Vector512: ApplyInverseTransposed<Simd512<float>, Vector512<float>>(xs, x.Stride, x.Rows, ms, m.Stride); break;
                case SimdPath.Vector256: ApplyInverseTransposed<Simd256<float>, Vector256<float>>(xs, x.Stride, x.Rows, ms, m.Stride); break;
                case SimdPath.Vector128: ApplyInverseTransposed<Simd128<float>, Vector128<float>>(xs, x.Stride, x.Rows, ms, m.Stride); break;
                default: ApplyInverseTransposed<SimdScalar<float>, float>(xs, x.Stride, x.Rows, ms, m.Stride); break;
            }
        }
    }

    private static unsafe void ApplyInverseTransposed<O, V>(float* x, int stride, int rows, float* m, int mStride)
        where O : ISimdOps<V, float> where V : struct
    {
        const int w = SolveLeaf;
        float* copy = stackalloc float[4 * w];
        int width = O.Count;
        for (int i = 0; i < rows; i += 4)
        {
            int count = Math.Min(4, rows - i);
            for (int r = 0; r < 4; r++)
                new ReadOnlySpan<float>(x + (long)(i + Math.Min(r, count - 1)) * stride, w).CopyTo(new Span<float>(copy + r * w, w));
            float* x0 = copy, x1 = copy + w, x2 = copy + 2 * w, x3 = copy + 3 * w;
            for (int c = 0; c < w; c += width)
            {
                // M is upper triangular (M[p, j] = 0 for p > j): rows beyond the chunk's last column add nothing.
                int depth = Math.Min(w, c + width);
                V a0 = default, a1 = default, a2 = default, a3 = default;
                for (int p = 0; p < depth; p++)
                {
                    V mp = O.Load(m + (long)p * mStride + c);
                    a0 = O.MultiplyAdd(O.Broadcast(x0[p]), mp, a0);
                    a1 = O.MultiplyAdd(O.Broadcast(x1[p]), mp, a1);
                    a2 = O.MultiplyAdd(O.Broadcast(x2[p]), mp, a2);
                    a3 = O.MultiplyAdd(O.Broadcast(x3[p]), mp, a3);
                }
                O.Store(a0, x + (long)i * stride + c);
                if (count > 1) O.Store(a1, x + (long)(i + 1) * stride + c);
                if (count > 2) O.Store(a2, x + (long)(i + 2) * stride + c);
                if (count > 3) O.Store(a3, x + (long)(i + 3) * stride + c);
            }
        }
    }

    /// <summary>
    /// The inverse of the (at most 32×32) lower-triangular block <paramref name="l"/> of L, formed in float64 and kept
    /// transposed in float32 as diagonal block <paramref name="block"/> of the scratch inverses.
    /// </summary>
    private static unsafe void InvertLeaf(MatrixView l, int block, Scratch scratch)
    {
        const int w = SolveLeaf;
        int size = l.Rows, lanes = Vector<double>.Count;
        fixed (double* inv = scratch.Inverse)
        {
            new Span<double>(inv, w * w).Clear();
            // Row i of L⁻¹: (e_i − Σ_{p<i} L[i,p]·(L⁻¹)[p,:]) / L[i,i], the rows above already known; row p is zero
            // beyond column p, so only its first p + 1 entries (rounded up to whole vectors within the row) are added.
            for (int i = 0; i < size; i++)
            {
                double* row = inv + i * w;
                row[i] = 1;
                var li = l.Row(i);
                for (int p = 0; p < i; p++)
                {
                    var s = new Vector<double>(-(double)li[p]);
                    double* above = inv + p * w;
                    for (int v = 0; v <= p; v += lanes) Vector.Store(Vector.Load(row + v) + s * Vector.Load(above + v), row + v);
                }
                var scale = new Vector<double>(1.0 / li[i]);
                for (int v = 0; v <= i; v += lanes) Vector.Store(Vector.Load(row + v) * scale, row + v);
            }
            // Kept as (L⁻¹)ᵀ, zero-padded to 32×32 (a block at the matrix's end may be smaller; no solve reads it).
            var target = scratch.InversesTransposed.View.Block(block * w, 0, w, w);
            for (int p = 0; p < w; p++)
            {
                var t = target.Row(p);
                for (int j = 0; j < w; j++) t[j] = (float)inv[j * w + p];
            }
        }
    }

    /// <summary>
    /// An unblocked float64 factorisation of a diagonal block of at most <see cref="Leaf"/> columns (row-oriented:
    /// each entry is one contiguous dot product); returns −1 or the global index of the failing pivot.
    /// </summary>
    private static unsafe int FactorLeaf(MatrixView a, int origin, double[] block)
    {
        int n = a.Rows;
        fixed (double* d = block)
        {
            for (int i = 0; i < n; i++)
            {
                var row = a.Row(i);
                for (int j = 0; j <= i; j++) d[i * Leaf + j] = row[j];
            }
            for (int k = 0; k < n; k++)
            {
                double* rowK = d + k * Leaf;
                double s = rowK[k] - Dot(rowK, rowK, k);
                if (!(s > 0)) return origin + k;
                double pivot = Math.Sqrt(s);
                rowK[k] = pivot;
                for (int i = k + 1; i < n; i++)
                    d[i * Leaf + k] = (d[i * Leaf + k] - Dot(d + i * Leaf, rowK, k)) / pivot;
            }
            for (int i = 0; i < n; i++)
            {
                var row = a.Row(i);
                for (int j = 0; j <= i; j++) row[j] = (float)d[i * Leaf + j];
            }
        }
        return -1;
    }

    /// <summary>A short float64 dot product, inlined (TensorPrimitives' call and dispatch cost more than the work at these lengths).</summary>
    private static unsafe double Dot(double* x, double* y, int length)
    {
        int lanes = Vector<double>.Count, v = 0;
        var acc = Vector<double>.Zero;
        for (; v + lanes <= length; v += lanes) acc += Vector.Load(x + v) * Vector.Load(y + v);
        double s = Vector.Sum(acc);
        for (; v < length; v++) s += x[v] * y[v];
        return s;
    }
}
