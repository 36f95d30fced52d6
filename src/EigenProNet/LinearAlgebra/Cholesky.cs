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
/// Right-looking, in 128-column blocks: each diagonal block is factored and each panel solved in float64; the
/// trailing matrix is updated with the float32 symmetric rank-k product, where nearly all the work is.
/// </remarks>
public static class Cholesky
{
    private const int BlockSize = 128;

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

    /// <summary>The inverse of the lower-triangular jb×jb float64 factor (row-major), by column-wise substitution.</summary>
    private static double[] InvertLower(double[] d, int jb)
    {
        var inv = new double[jb * jb];
        for (int c = 0; c < jb; c++)
        {
            inv[c * jb + c] = 1 / d[c * jb + c];
            for (int i = c + 1; i < jb; i++)
            {
                double s = 0;
                for (int p = c; p < i; p++) s -= d[i * jb + p] * inv[p * jb + c];
                inv[i * jb + c] = s / d[i * jb + i];
            }
        }
        return inv;
    }

    /// <summary>Overwrites the lower triangle of <paramref name="l"/> with its factor; returns −1, or the failing pivot.</summary>
    private static int TryFactorInPlace(Matrix l, ComputeContext context)
    {
        int n = l.Rows;
        // The panel and its solution, allocated once for the first (tallest) panel: fresh arrays per panel would be
        // paid for again in page faults.
        int tallest = Math.Max(0, n - BlockSize);
        var panel = new double[(long)tallest * BlockSize];
        var solved = new double[(long)tallest * BlockSize];
        for (int j0 = 0; j0 < n; j0 += BlockSize)
        {
            int jb = Math.Min(BlockSize, n - j0);
            // Diagonal block in float64.
            var d = new double[jb * jb];
            for (int i = 0; i < jb; i++) for (int j = 0; j <= i; j++) d[i * jb + j] = l[j0 + i, j0 + j];
            for (int k = 0; k < jb; k++)
            {
                double s = d[k * jb + k];
                for (int p = 0; p < k; p++) s -= d[k * jb + p] * d[k * jb + p];
                if (!(s > 0)) return j0 + k;
                double piv = Math.Sqrt(s);
                d[k * jb + k] = piv;
                for (int i = k + 1; i < jb; i++)
                {
                    double t = d[i * jb + k];
                    for (int p = 0; p < k; p++) t -= d[i * jb + p] * d[k * jb + p];
                    d[i * jb + k] = t / piv;
                }
            }
            for (int i = 0; i < jb; i++) for (int j = 0; j <= i; j++) l[j0 + i, j0 + j] = (float)d[i * jb + j];
            int rest = n - j0 - jb;
            if (rest == 0) break;
            // Panel: L21 = A21·L11⁻ᵀ in one float64 GEMM with the explicit inverse of the (well-scaled, jb×jb)
            // diagonal factor — row-by-row substitution ran at scalar speed and dominated the factorisation.
            var inverse = InvertLower(d, jb);
            for (int r = 0; r < rest; r++)
            {
                var row = l.Row(j0 + jb + r).Slice(j0, jb);
                for (int k = 0; k < jb; k++) panel[(long)r * jb + k] = row[k];
            }
            DoubleGemm.Compute(Transpose.No, Transpose.Yes, 1, DoubleBlock.Of(panel, rest, jb), DoubleBlock.Of(inverse, jb, jb), 0,
                DoubleBlock.Of(solved, rest, jb), context: context);
            for (int r = 0; r < rest; r++)
            {
                var row = l.Row(j0 + jb + r).Slice(j0, jb);
                for (int k = 0; k < jb; k++) row[k] = (float)solved[(long)r * jb + k];
            }
            // Trailing update A22 −= L21·L21ᵀ: lower tiles only, no mirror (only the lower triangle is ever read).
            var l21 = l.View.Block(j0 + jb, j0, rest, jb);
            var a22 = l.View.Block(j0 + jb, j0 + jb, rest, rest);
            Gemm.SymmetricRankK(Transpose.No, -1f, l21, 1f, a22, context, mirror: false);
        }
        for (int i = 0; i < n; i++) l.Row(i)[(i + 1)..].Clear();
        return -1;
    }
}
