namespace EigenProNet.LinearAlgebra;

/// <summary>
/// All eigenpairs of a symmetric tridiagonal matrix by divide and conquer (Cuppen's method with the deflation of
/// LAPACK's dlaed2 and the Gu–Eisenstat recomputation of the update vector, which keeps the eigenvectors orthogonal
/// without extra precision). Each merge solves the secular equation of a rank-one update D + ρzzᵀ and multiplies
/// the two halves' eigenvectors by the update's eigenvectors in one float64 GEMM — where nearly all the work is.
/// Kernel matrices' spectra deflate heavily (many eigenvalues near zero), so merges are usually much cheaper than
/// their dense worst case. Leaves are solved by implicit QL.
/// </summary>
internal static class TridiagonalEigen
{
    private const int Leaf = 32;
    private const double Eps = 1.1102230246251565e-16;   // unit roundoff of float64

    /// <summary>
    /// Diagonal <paramref name="d"/> (n) and off-diagonal <paramref name="e"/> (e[i] couples i and i+1; e[n−1] ignored).
    /// On return d holds the eigenvalues (unordered) and q (n×n row-major) the eigenvectors as columns.
    /// </summary>
    public static void Solve(double[] d, double[] e, double[] q, int n)
    {
        Array.Clear(q, 0, n * n);
        if (n == 0) return;
        // Work at unit scale so that products in the secular solver neither overflow nor underflow.
        double scale = 0;
        for (int i = 0; i < n; i++) scale = Math.Max(scale, Math.Abs(d[i]));
        for (int i = 0; i < n - 1; i++) scale = Math.Max(scale, Math.Abs(e[i]));
        if (scale == 0)
        {
            for (int i = 0; i < n; i++) q[(long)i * n + i] = 1;
            return;
        }
        for (int i = 0; i < n; i++) d[i] /= scale;
        var es = new double[n];
        for (int i = 0; i < n - 1; i++) es[i] = e[i] / scale;
        Recurse(d, es, q, n, 0, n);
        for (int i = 0; i < n; i++) d[i] *= scale;
    }

    private static void Recurse(double[] d, double[] e, double[] q, int n, int lo, int m)
    {
        if (m <= Leaf)
        {
            SolveLeaf(d, e, q, n, lo, m);
            return;
        }
        int k = m / 2;
        double beta = e[lo + k - 1];
        double rho = Math.Abs(beta);
        // T = diag(T1 − ρ·e_k e_kᵀ, T2 − ρ·e_1 e_1ᵀ) + ρ·u uᵀ with u = [e_k; sign(β)·e_1].
        d[lo + k - 1] -= rho;
        d[lo + k] -= rho;
        Recurse(d, e, q, n, lo, k);
        Recurse(d, e, q, n, lo + k, m - k);
        Merge(d, q, n, lo, m, k, rho, beta < 0 ? -1 : 1);
    }

    private static void SolveLeaf(double[] d, double[] e, double[] q, int n, int lo, int m)
    {
        var dl = new double[m];
        var el = new double[m];
        Array.Copy(d, lo, dl, 0, m);
        Array.Copy(e, lo, el, 0, m - 1);
        var z = new double[m * m];
        for (int i = 0; i < m; i++) z[i * m + i] = 1;
        SymmetricEigen.QlImplicit(dl, el, z, m);   // rows of z are the eigenvectors
        Array.Copy(dl, 0, d, lo, m);
        for (int j = 0; j < m; j++)
            for (int i = 0; i < m; i++) q[(long)(lo + i) * n + lo + j] = z[j * m + i];
    }

    /// <summary>Merges the solved halves [lo, lo+k) and [lo+k, lo+m) of the diagonal block at lo.</summary>
    private static void Merge(double[] d, double[] q, int n, int lo, int m, int k, double rho, int sign)
    {
        // Working copy of the block (columns = eigenvectors of the halves) and the update vector z = Qbᵀu / √2.
        var work = new double[(long)m * m];
        for (int i = 0; i < m; i++) Array.Copy(q, (long)(lo + i) * n + lo, work, (long)i * m, m);
        var z = new double[m];
        for (int j = 0; j < k; j++) z[j] = work[(long)(k - 1) * m + j] / Math.Sqrt(2);
        for (int j = k; j < m; j++) z[j] = sign * work[(long)k * m + j] / Math.Sqrt(2);
        rho *= 2;
        var dd = new double[m];
        Array.Copy(d, lo, dd, 0, m);
        var order = Enumerable.Range(0, m).ToArray();
        Array.Sort(order, (a, b) => dd[a].CompareTo(dd[b]));

        // Deflation (dlaed2): negligible z components, and pairs of nearly equal d rotated into one.
        double dmax = 0, zmax = 0;
        for (int i = 0; i < m; i++) { dmax = Math.Max(dmax, Math.Abs(dd[i])); zmax = Math.Max(zmax, Math.Abs(z[i])); }
        double tol = 8 * Eps * Math.Max(dmax, zmax);
        var kept = new List<int>(m);
        var deflated = new List<int>(m);
        var mixed = new bool[m];   // columns rotated across the halves (nonzero in both)
        int prev = -1;
        foreach (int j in order)
        {
            if (rho * Math.Abs(z[j]) <= tol) { deflated.Add(j); continue; }
            if (prev < 0) { prev = j; continue; }
            double s = z[prev], c = z[j];
            double tau = SymmetricEigen.Hypot(c, s);
            double t = dd[j] - dd[prev];
            c /= tau;
            s = -s / tau;
            if (Math.Abs(t * c * s) <= tol)
            {
                // Rotate columns prev and j so that z[prev] = 0: prev deflates, j carries the combined weight.
                z[j] = tau;
                z[prev] = 0;
                // Either column may already span both halves from an earlier rotation in a chain of close values.
                if (mixed[prev] || mixed[j] || (prev < k) != (j < k)) mixed[prev] = mixed[j] = true;
                for (int i = 0; i < m; i++)
                {
                    long ip = (long)i * m + prev, ij = (long)i * m + j;
                    double xp = work[ip], xj = work[ij];
                    work[ip] = c * xp + s * xj;
                    work[ij] = c * xj - s * xp;
                }
                double dp = dd[prev] * c * c + dd[j] * s * s;
                dd[j] = dd[prev] * s * s + dd[j] * c * c;
                dd[prev] = dp;
                deflated.Add(prev);
                prev = j;
            }
            else
            {
                kept.Add(prev);
                prev = j;
            }
        }
        if (prev >= 0) kept.Add(prev);
        kept.Sort((a, b) => dd[a].CompareTo(dd[b]));

        int kk = kept.Count;
        var result = new double[(long)m * m];
        var values = new double[m];
        if (kk > 0)
        {
            var dk = new double[kk];
            var zk = new double[kk];
            for (int i = 0; i < kk; i++) { dk[i] = dd[kept[i]]; zk[i] = z[kept[i]]; }
            var u = SecularEigenvectors(dk, zk, rho, values);
            // result[:, 0:kk] = work[:, kept]·U. A column from the first half is zero below row k (from the second,
            // above it) unless a deflating rotation mixed the halves, so each half of the result needs only the
            // columns — and rows of U — that reach it (dlaed3's trick: about half the flops).
            MultiplyHalf(work, m, 0, k, kept, u, result, touched: row => row < k, mixed);
            MultiplyHalf(work, m, k, m - k, kept, u, result, touched: row => row >= k, mixed);
        }
        for (int j = 0; j < deflated.Count; j++)
        {
            int src = deflated[j], dst = kk + j;
            values[dst] = dd[src];
            for (int i = 0; i < m; i++) result[(long)i * m + dst] = work[(long)i * m + src];
        }
        Array.Copy(values, 0, d, lo, m);
        for (int i = 0; i < m; i++) Array.Copy(result, (long)i * m, q, (long)(lo + i) * n + lo, m);
    }

    /// <summary>result[r0:r0+rows, 0:K] = work[r0:r0+rows, kept[c]]·U[c, :] over the kept columns c that reach these rows.</summary>
    private static void MultiplyHalf(double[] work, int m, int r0, int rows, List<int> kept, double[] u, double[] result,
        Func<int, bool> touched, bool[] mixed)
    {
        int kk = kept.Count;
        var cols = new List<int>(kk);
        for (int c = 0; c < kk; c++)
            if (mixed[kept[c]] || touched(kept[c])) cols.Add(c);
        var g = new double[(long)rows * cols.Count];
        var ur = new double[(long)cols.Count * kk];
        for (int i = 0; i < rows; i++)
            for (int c = 0; c < cols.Count; c++) g[(long)i * cols.Count + c] = work[(long)(r0 + i) * m + kept[cols[c]]];
        for (int c = 0; c < cols.Count; c++) Array.Copy(u, (long)cols[c] * kk, ur, (long)c * kk, kk);
        DoubleGemm.Compute(Transpose.No, Transpose.No, 1, DoubleBlock.Of(g, rows, cols.Count), DoubleBlock.Of(ur, cols.Count, kk), 0,
            new DoubleBlock(result, (long)r0 * m, rows, kk, m));
    }

    /// <summary>
    /// Eigenpairs of D + ρ·z zᵀ (d strictly increasing, every z nonzero, ρ &gt; 0): the roots of the secular equation
    /// 1 + ρ Σ z_i²/(d_i − λ) = 0 go into <paramref name="values"/>[0..K); returns the K×K eigenvector matrix (columns).
    /// Each root is kept as (origin pole, offset) so that d_i − λ_j is formed without cancellation.
    /// </summary>
    internal static double[] SecularEigenvectors(double[] dk, double[] zk, double rho, double[] values)
    {
        int kk = dk.Length;
        var origin = new int[kk];
        var tau = new double[kk];
        double znorm2 = 0;
        for (int i = 0; i < kk; i++) znorm2 += zk[i] * zk[i];
        int threads = (long)kk * kk > 100_000 ? Parallelism.MaxThreads : 1;
        Parallelism.Run(threads, th =>
        {
            var (j0, j1) = Parallelism.Share(kk, th, threads);
            var diff = new double[kk];
            for (int j = j0; j < j1; j++) (origin[j], tau[j]) = SolveRoot(dk, zk, rho, znorm2, j, diff);
        });
        for (int j = 0; j < kk; j++) values[j] = dk[origin[j]] + tau[j];

        // δ(i, j) = d_i − λ_j, accurately.
        double Delta(int i, int j) => (dk[i] - dk[origin[j]]) - tau[j];

        // Gu–Eisenstat: the z for which the computed roots are exact (its sign from the original z).
        var zh = new double[kk];
        for (int i = 0; i < kk; i++)
        {
            double p = -Delta(i, kk - 1) / rho;
            for (int j = 0; j < i; j++) p *= Delta(i, j) / (dk[i] - dk[j]);
            for (int j = i + 1; j < kk; j++) p *= Delta(i, j - 1) / (dk[i] - dk[j]);
            zh[i] = Math.CopySign(Math.Sqrt(Math.Max(p, 0)), zk[i]);
        }
        var u = new double[(long)kk * kk];
        Parallelism.Run(threads, th =>
        {
            var (j0, j1) = Parallelism.Share(kk, th, threads);
            for (int j = j0; j < j1; j++)
            {
                double norm = 0;
                for (int i = 0; i < kk; i++)
                {
                    double x = zh[i] / Delta(i, j);
                    u[(long)i * kk + j] = x;
                    norm += x * x;
                }
                norm = 1 / Math.Sqrt(norm);
                for (int i = 0; i < kk; i++) u[(long)i * kk + j] *= norm;
            }
        });
        return u;
    }

    /// <summary>
    /// Root j of the secular equation, in (d_j, d_{j+1}) (or (d_K, d_K + ρ‖z‖²] for the last): bracketed Newton on
    /// f(τ) = 1 + ρ Σ z_i²/((d_i − d_o) − τ) about the nearer pole d_o, falling back to bisection.
    /// </summary>
    private static (int Origin, double Tau) SolveRoot(double[] dk, double[] zk, double rho, double znorm2, int j, double[] diff)
    {
        int kk = dk.Length;
        int o;
        double lo, hi;
        if (j == kk - 1)
        {
            o = j;
            lo = 0;
            hi = rho * znorm2;
        }
        else
        {
            double mid = 0.5 * (dk[j + 1] - dk[j]);
            // f at the midpoint decides which pole the root is nearer to.
            double f = 1;
            for (int i = 0; i < kk; i++) f += rho * zk[i] * zk[i] / ((dk[i] - dk[j]) - mid);
            if (f >= 0) { o = j; lo = 0; hi = mid; }
            else { o = j + 1; lo = -mid; hi = 0; }
        }
        for (int i = 0; i < kk; i++) diff[i] = dk[i] - dk[o];
        double t = 0.5 * (lo + hi);
        for (int iter = 0; iter < 200; iter++)
        {
            double f = 1, fp = 0, fabs = 1;
            for (int i = 0; i < kk; i++)
            {
                double inv = 1 / (diff[i] - t);
                double w = rho * zk[i] * zk[i] * inv;
                f += w;
                fabs += Math.Abs(w);
                fp += w * inv;
            }
            if (Math.Abs(f) <= 4 * Eps * kk * fabs) break;
            if (f < 0) lo = t; else hi = t;
            if (hi - lo <= 2 * Eps * Math.Max(Math.Abs(lo), Math.Abs(hi))) { t = 0.5 * (lo + hi); break; }
            double next = t - f / fp;
            t = next > lo && next < hi ? next : 0.5 * (lo + hi);
        }
        return (o, t);
    }
}
