using System.Numerics.Tensors;

namespace EigenProNet.LinearAlgebra;

/// <summary>Eigenvalues (descending) and orthonormal eigenvectors (as columns) of a symmetric matrix.</summary>
/// <param name="Values">λ_1 ≥ λ_2 ≥ … ≥ λ_k, in float64.</param>
/// <param name="Vectors">n × k, column j is the unit eigenvector of <c>Values[j]</c>.</param>
public sealed record EigenDecomposition(double[] Values, Matrix Vectors)
{
    /// <summary>Number of eigenpairs.</summary>
    public int Count => Values.Length;
}

/// <summary>
/// Symmetric eigensolvers in float64: Householder tridiagonalisation, then the implicit QL method with Wilkinson
/// shifts, rotating the accumulated transformation. Eigenvectors are kept as rows during the iteration so every
/// plane rotation updates two contiguous rows (vectorised, split over the threads).
/// </summary>
public static class SymmetricEigen
{
    /// <summary>Relative asymmetry tolerated in the input (float32 kernel matrices are symmetric to rounding).</summary>
    public const double SymmetryTolerance = 1e-4;

    /// <summary>All eigenpairs of the symmetric matrix <paramref name="a"/>, eigenvalues descending.</summary>
    /// <exception cref="ArgumentException">Not square, not symmetric (beyond <see cref="SymmetryTolerance"/>), or NaN/Inf.</exception>
    /// <exception cref="InvalidOperationException">The QL iteration did not converge (names the eigenpair).</exception>
    public static EigenDecomposition Full(MatrixView a) => Top(a, a.Rows);

    /// <summary>
    /// The <paramref name="k"/> largest eigenpairs, eigenvalues descending. Currently computed through the full
    /// decomposition (exact for every k); a block-Krylov path for k ≪ n is planned.
    /// </summary>
    public static EigenDecomposition Top(MatrixView a, int k)
    {
        int n = a.Rows;
        Validate(a, nameof(a));
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"Expected 0 <= k <= n = {n}.");
        var w = new double[(long)n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                w[(long)i * n + j] = 0.5 * ((double)a[i, j] + a[j, i]);
        var (values, rows) = Decompose(w, n);
        // Descending order; eigenvector rows move with their values.
        var order = Enumerable.Range(0, n).OrderByDescending(i => values[i]).Take(k).ToArray();
        var vectors = new Matrix(n, k);
        var sorted = new double[k];
        for (int j = 0; j < k; j++)
        {
            sorted[j] = values[order[j]];
            long src = (long)order[j] * n;
            for (int i = 0; i < n; i++) vectors[i, j] = (float)rows[src + i];
        }
        return new EigenDecomposition(sorted, vectors);
    }

    internal static void Validate(MatrixView a, string name)
    {
        if (a.Rows != a.Columns)
            throw new ArgumentException($"Expected a square matrix, found shape {a.Shape}.", name);
        Guard.AllFinite(a, name);
        float scale = 0;
        for (int i = 0; i < a.Rows; i++) scale = Math.Max(scale, TensorPrimitives.MaxMagnitude(a.Row(i)));
        for (int i = 0; i < a.Rows; i++)
            for (int j = 0; j < i; j++)
                if (Math.Abs(a[i, j] - a[j, i]) > SymmetryTolerance * scale)
                    throw new ArgumentException(
                        $"Expected a symmetric matrix, found A[{i},{j}] = {a[i, j]} but A[{j},{i}] = {a[j, i]} (tolerance {SymmetryTolerance} × max|A| = {SymmetryTolerance * scale:G3}).", name);
    }

    /// <summary>Eigenvalues (unsorted) and eigenvectors as rows of an n×n array. <paramref name="w"/> is destroyed.</summary>
    internal static (double[] Values, double[] Rows) Decompose(double[] w, int n)
    {
        var d = new double[n];
        var e = new double[n];
        var tau = new double[n];
        Tridiagonalize(w, n, d, e, tau);
        double[] q = FormQTransposed(w, n, tau);
        QlImplicit(d, e, q, n);
        return (d, q);
    }

    /// <summary>
    /// Reduces the symmetric n×n array to tridiagonal form T = QᵀAQ, Q = H_0⋯H_{n−3}, H_k = I − τ_k v_k v_kᵀ.
    /// Diagonal in d, sub-diagonal in e[0..n−2]; v_k (with v_k[0] = 1 implicit) is left in row k right of column k+1.
    /// </summary>
    private static void Tridiagonalize(double[] a, int n, double[] d, double[] e, double[] tau)
    {
        var p = new double[n];
        for (int k = 0; k < n - 2; k++)
        {
            int m = n - k - 1;                      // trailing size
            var x = a.AsSpan(k * n + k + 1, m);     // row k right of the diagonal = column k below it
            double alpha = x[0];
            double xnorm = m > 1 ? TensorPrimitives.Norm(x[1..]) : 0;
            d[k] = a[k * n + k];
            if (xnorm == 0)
            {
                tau[k] = 0;
                e[k] = alpha;
                continue;
            }
            double beta = -Math.CopySign(Math.Sqrt(alpha * alpha + xnorm * xnorm), alpha);
            tau[k] = (beta - alpha) / beta;
            TensorPrimitives.Multiply(x[1..], 1.0 / (alpha - beta), x[1..]);
            x[0] = 1.0;
            e[k] = beta;
            var vs = x.ToArray();   // the lambdas below cannot capture a span
            int off = (k + 1) * n + k + 1;
            double t = tau[k];
            // p = τ·B·v over the trailing block B (full symmetric storage), rows split over threads.
            int threads = m * (long)m > 200_000 ? Parallelism.MaxThreads : 1;
            Parallelism.Run(threads, th =>
            {
                var (r0, r1) = Parallelism.Share(m, th, threads);
                for (int i = r0; i < r1; i++) p[i] = t * TensorPrimitives.Dot(new ReadOnlySpan<double>(a, off + i * n, m), vs);
            });
            // w = p − (τ/2)(pᵀv)v; B ← B − v wᵀ − w vᵀ.
            double half = 0.5 * t * TensorPrimitives.Dot(p.AsSpan(0, m), vs);
            for (int i = 0; i < m; i++) p[i] -= half * vs[i];
            var ws = p.AsSpan(0, m).ToArray();
            Parallelism.Run(threads, th =>
            {
                var (r0, r1) = Parallelism.Share(m, th, threads);
                for (int i = r0; i < r1; i++)
                {
                    var row = new Span<double>(a, off + i * n, m);
                    TensorPrimitives.MultiplyAdd(ws, -vs[i], row, row);
                    TensorPrimitives.MultiplyAdd(vs, -ws[i], row, row);
                }
            });
        }
        if (n >= 2)
        {
            d[n - 2] = a[(n - 2) * n + n - 2];
            e[n - 2] = a[(n - 2) * n + n - 1];
        }
        if (n >= 1) d[n - 1] = a[(n - 1) * n + n - 1];
        if (n >= 1) e[n - 1] = 0;
    }

    /// <summary>Qᵀ as an n×n row-major array, accumulated backwards (H_{n−3} first) so each step touches only its trailing block.</summary>
    private static double[] FormQTransposed(double[] a, int n, double[] tau)
    {
        var q = new double[(long)n * n];
        for (int i = 0; i < n; i++) q[(long)i * n + i] = 1;
        var y = new double[n];
        for (int k = n - 3; k >= 0; k--)
        {
            if (tau[k] == 0) continue;
            int m = n - k - 1, off = k + 1;
            var v = new ReadOnlySpan<double>(a, k * n + k + 1, m).ToArray();
            // Q[off:, off:] ← H_k·Q[off:, off:]: y = vᵀQ_sub, then Q_sub −= τ v yᵀ.
            int threads = m * (long)m > 200_000 ? Parallelism.MaxThreads : 1;
            Array.Clear(y);
            // y = vᵀ·Q_sub, each thread owning a range of columns (a GEMV; rows stream once).
            Parallelism.Run(threads, th =>
            {
                var (j0, j1) = Parallelism.Share(m, th, threads);
                if (j1 <= j0) return;
                var yPart = y.AsSpan(j0, j1 - j0);
                for (int i = 0; i < m; i++)
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<double>(q, (off + i) * n + off + j0, j1 - j0), v[i], yPart, yPart);
            });
            var ys = y.AsSpan(0, m).ToArray();
            double t = tau[k];
            Parallelism.Run(threads, th =>
            {
                var (r0, r1) = Parallelism.Share(m, th, threads);
                for (int i = r0; i < r1; i++)
                {
                    var row = new Span<double>(q, (off + i) * n + off, m);
                    TensorPrimitives.MultiplyAdd(ys, -t * v[i], row, row);
                }
            });
        }
        // Q was accumulated in place; the eigenvector rows need Qᵀ.
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                (q[(long)i * n + j], q[(long)j * n + i]) = (q[(long)j * n + i], q[(long)i * n + j]);
        return q;
    }

    /// <summary>
    /// Implicit QL with Wilkinson shifts on the tridiagonal (d, e), applying every rotation to the rows of z
    /// (row i = current eigenvector i). On return d holds the eigenvalues.
    /// </summary>
    private static void QlImplicit(double[] d, double[] e, double[] z, int n)
    {
        const int maxSweeps = 60;
        var cs = new double[n];
        var sn = new double[n];
        var log = new RotationLog(z, n);
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
    private sealed class RotationLog(double[] z, int n)
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
            int threads = (long)_count * n > 2_000_000 ? Math.Min(Parallelism.MaxThreads, tiles) : 1;
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

    private static double Hypot(double a, double b)
    {
        a = Math.Abs(a);
        b = Math.Abs(b);
        if (a < b) (a, b) = (b, a);
        if (a == 0) return 0;
        double r = b / a;
        return a * Math.Sqrt(1 + r * r);
    }
}
