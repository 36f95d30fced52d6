using System.Numerics.Tensors;

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
        var scratch = new Scratch(n);
        int failed = FactorRecursive(l.View, 0, scratch, context);
        if (failed >= 0) return failed;
        for (int i = 0; i < n; i++) l.Row(i)[(i + 1)..].Clear();
        return -1;
    }

    /// <summary>
    /// Reusable buffers: the float64 leaf block, the float32 inverses of the 32×32 diagonal blocks of L (block q in
    /// rows 32q.., made once when its block is factored and used by every solve beneath it) and the solve's product.
    /// </summary>
    private sealed class Scratch(int n)
    {
        public readonly double[] Block = new double[Leaf * Leaf];
        public readonly double[] Inverse = new double[SolveLeaf * SolveLeaf];
        public readonly Matrix Inverses = new((n + SolveLeaf - 1) / SolveLeaf * SolveLeaf, SolveLeaf);
        public readonly Matrix Product = new(Math.Max(n, 1), SolveLeaf);
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

    /// <summary>X ← X·L⁻ᵀ for X (r × w) and the lower-triangular factor L (w × w, at global column <paramref name="origin"/>), recursively on column halves.</summary>
    private static void SolveRightTransposed(MatrixView x, MatrixView l, int origin, Scratch scratch, ComputeContext context)
    {
        int w = l.Rows, r = x.Rows;
        if (r == 0) return;
        if (w <= SolveLeaf)
        {
            // The leaf: X ← X·(L⁻¹)ᵀ, one float32 product with the block's inverse.
            var inverse = scratch.Inverses.View.Block(origin, 0, w, w);
            var product = scratch.Product.View.Block(0, 0, r, w);
            Gemm.Compute(Transpose.No, Transpose.Yes, 1f, x, inverse, 0f, product, context);
            for (int i = 0; i < r; i++) product.Row(i).CopyTo(x.Row(i));
            return;
        }
        // [X1 X2]·[L11ᵀ L21ᵀ; 0 L22ᵀ] = [B1 B2]: X1 = B1·L11⁻ᵀ, then X2 = (B2 − X1·L21ᵀ)·L22⁻ᵀ.
        int w1 = (w / 2 + SolveLeaf - 1) / SolveLeaf * SolveLeaf;
        var x1 = x.Block(0, 0, r, w1);
        var x2 = x.Block(0, w1, r, w - w1);
        SolveRightTransposed(x1, l.Block(0, 0, w1, w1), origin, scratch, context);
        Gemm.Compute(Transpose.No, Transpose.Yes, -1f, x1, l.Block(w1, 0, w - w1, w1), 1f, x2, context);
        SolveRightTransposed(x2, l.Block(w1, w1, w - w1, w - w1), origin + w1, scratch, context);
    }

    /// <summary>
    /// The inverse of the (at most 32×32) lower-triangular block <paramref name="l"/> of L, formed in float64 and kept
    /// in float32 as diagonal block <paramref name="block"/> of the scratch inverses.
    /// </summary>
    private static void InvertLeaf(MatrixView l, int block, Scratch scratch)
    {
        int w = l.Rows;
        var inv = scratch.Inverse;
        Array.Clear(inv);
        // Row i of L⁻¹: (e_i − Σ_{p<i} L[i,p]·(L⁻¹)[p,:]) / L[i,i], the rows above already known.
        for (int i = 0; i < w; i++)
        {
            var row = inv.AsSpan(i * SolveLeaf, i + 1);
            row[i] = 1;
            for (int p = 0; p < i; p++)
                TensorPrimitives.MultiplyAdd(inv.AsSpan(p * SolveLeaf, p + 1), -(double)l[i, p], row[..(p + 1)], row[..(p + 1)]);
            TensorPrimitives.Divide(row, l[i, i], row);
        }
        var target = scratch.Inverses.View.Block(block * SolveLeaf, 0, w, w);
        for (int i = 0; i < w; i++)
            for (int j = 0; j < w; j++) target[i, j] = (float)inv[i * SolveLeaf + j];
    }

    /// <summary>
    /// An unblocked float64 factorisation of a diagonal block of at most <see cref="Leaf"/> columns (row-oriented:
    /// each entry is one contiguous dot product); returns −1 or the global index of the failing pivot.
    /// </summary>
    private static int FactorLeaf(MatrixView a, int origin, double[] d)
    {
        int n = a.Rows;
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) d[i * n + j] = a[i, j];
        for (int k = 0; k < n; k++)
        {
            var rowK = d.AsSpan(k * n, k);
            double s = d[k * n + k] - TensorPrimitives.Dot(rowK, rowK);
            if (!(s > 0)) return origin + k;
            double pivot = Math.Sqrt(s);
            d[k * n + k] = pivot;
            for (int i = k + 1; i < n; i++)
                d[i * n + k] = (d[i * n + k] - TensorPrimitives.Dot(d.AsSpan(i * n, k), rowK)) / pivot;
        }
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) a[i, j] = (float)d[i * n + j];
        return -1;
    }
}
