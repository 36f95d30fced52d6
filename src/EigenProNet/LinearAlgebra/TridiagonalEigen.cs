using System.Numerics;

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
    /// <summary>Newton/bisection steps allowed per secular root; bisection alone reaches double precision in about 110.</summary>
    internal const int MaxSecularIterations = 200;

    private const int Leaf = 32;
    private const double Eps = 1.1102230246251565e-16;   // unit roundoff of float64

    /// <summary>
    /// The deflation roundoff of a tridiagonal reduced in float32: a quarter of float32's unit roundoff, 2⁻²⁶. LAPACK's
    /// sstedc deflates at 2⁻²⁴ itself; a quarter of it keeps the residuals 4× below ssyevd's on kernel matrices
    /// (docs/benchmarks.md) and still deflates most of their small eigenvalues: a third of the float64 test's merge time.
    /// </summary>
    internal const double SingleDeflationRoundoff = 1.4901161193847656e-8;

    /// <summary>The unit roundoff of float64, 2⁻⁵³.</summary>
    internal const double DoubleRoundoff = Eps;

    /// <summary>All eigenpairs of the tridiagonal (d, e).</summary>
    /// <param name="d">The diagonal (n); on return the eigenvalues, unordered.</param>
    /// <param name="e">The off-diagonal: e[i] couples i and i+1 (e[n−1] ignored).</param>
    /// <param name="q">n×n row-major: on return the eigenvectors as columns.</param>
    /// <param name="n">The order.</param>
    /// <param name="context">Threads and SIMD path.</param>
    /// <param name="deflationRoundoff">
    /// The unit roundoff of the deflation test (dlaed2's tol = 8·u·max(|d|, |z|)): float64's by default; a float32
    /// tridiagonal (from a float32 reduction, already accurate to n·u₃₂·‖T‖) deflates at <see cref="SingleDeflationRoundoff"/>,
    /// which for kernel spectra deflates most of the small eigenvalues and leaves a fraction of the merge work.
    /// </param>
    public static void Solve(double[] d, double[] e, double[] q, int n, ComputeContext? context = null, double deflationRoundoff = Eps)
    {
        // q is not cleared: every leaf writes its whole diagonal block and every merge its whole block, reading only
        // the halves' own diagonal blocks (the zeros between them are implied), so each element is written first.
        if (n == 0) return;
        // Work at unit scale so that products in the secular solver neither overflow nor underflow.
        double scale = 0;
        for (int i = 0; i < n; i++) scale = Math.Max(scale, Math.Abs(d[i]));
        for (int i = 0; i < n - 1; i++) scale = Math.Max(scale, Math.Abs(e[i]));
        if (scale == 0)
        {
            Array.Clear(q, 0, n * n);
            for (int i = 0; i < n; i++) q[(long)i * n + i] = 1;
            return;
        }
        for (int i = 0; i < n; i++) d[i] /= scale;
        var es = new double[n];
        for (int i = 0; i < n - 1; i++) es[i] = e[i] / scale;
        using var scratch = new Scratch(n);
        Recurse(d, es, q, n, 0, n, scratch, context ?? ComputeContext.Default, deflationRoundoff);
        for (int i = 0; i < n; i++) d[i] *= scale;
    }

    /// <summary>
    /// Buffers shared by all merges, sized for the largest: fresh multi-megabyte arrays per merge cost more in page
    /// faults than the copies themselves (and so, up to a size, they are reused across solves: <see cref="WorkArrayPool"/>).
    /// The merge of block [lo, lo + m) uses the m² elements from lo·n on, so the merges of disjoint blocks — the two
    /// halves solved at the same time — never share a byte. Each merge writes what it reads of them first.
    /// </summary>
    private sealed class Scratch(int n) : IDisposable
    {
        /// <summary>The block's eigenvector columns, regrouped (m×m, row stride m).</summary>
        public readonly double[] Work = WorkArrayPool.Rent<double>(checked(n * n));
        /// <summary>The secular eigenvectors, rows in the regrouped order (K×K).</summary>
        public readonly double[] U = WorkArrayPool.Rent<double>(n * n);

        public void Dispose()
        {
            WorkArrayPool.Return(U);
            WorkArrayPool.Return(Work);
        }
    }

    /// <summary>Blocks at least this large solve their two halves at the same time, on half the threads each.</summary>
    private const int ParallelHalves = 384;

    private static void Recurse(double[] d, double[] e, double[] q, int n, int lo, int m, Scratch scratch, ComputeContext context, double roundoff)
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
        if (m >= ParallelHalves && context.Threads > 1)
        {
            // The halves are independent: below the top merges their work is too small to feed every thread, so
            // they run side by side instead (each with half the threads, on disjoint parts of q and the scratch).
            var first = context.WithThreads(context.Threads / 2);
            var second = context.WithThreads(context.Threads - context.Threads / 2);
            Parallel.Invoke(
                () => Recurse(d, e, q, n, lo, k, scratch, first, roundoff),
                () => Recurse(d, e, q, n, lo + k, m - k, scratch, second, roundoff));
        }
        else
        {
            Recurse(d, e, q, n, lo, k, scratch, context, roundoff);
            Recurse(d, e, q, n, lo + k, m - k, scratch, context, roundoff);
        }
        Merge(d, q, n, lo, m, k, rho, beta < 0 ? -1 : 1, scratch, context, roundoff);
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

    /// <summary>
    /// Merges the solved halves [lo, lo+k) and [lo+k, lo+m) of the diagonal block at lo: deflation (dlaed2), the
    /// secular equation, and the block's new eigenvectors Q·U written straight back into q (dlaed3).
    /// </summary>
    private static void Merge(double[] d, double[] q, int n, int lo, int m, int k, double rho, int sign, Scratch scratch,
        ComputeContext context, double roundoff)
    {
        long area = (long)lo * n;   // this block's part of the scratch arrays
        // The update vector z = Qbᵀu / √2: the last row of the first half's vectors and the first of the second's.
        var z = new double[m];
        for (int j = 0; j < k; j++) z[j] = q[(long)(lo + k - 1) * n + lo + j] / Math.Sqrt(2);
        for (int j = k; j < m; j++) z[j] = sign * q[(long)(lo + k) * n + lo + j] / Math.Sqrt(2);
        rho *= 2;
        var dd = new double[m];
        Array.Copy(d, lo, dd, 0, m);
        var order = Enumerable.Range(0, m).ToArray();
        Array.Sort(order, (a, b) => dd[a].CompareTo(dd[b]));

        // Deflation (dlaed2): negligible z components, and pairs of nearly equal d rotated into one. The rotations of
        // the vector columns are only recorded here and applied row by row below (a column pass strides through memory).
        double dmax = 0, zmax = 0;
        for (int i = 0; i < m; i++) { dmax = Math.Max(dmax, Math.Abs(dd[i])); zmax = Math.Max(zmax, Math.Abs(z[i])); }
        double tol = 8 * roundoff * Math.Max(dmax, zmax);
        var kept = new List<int>(m);
        var deflated = new List<int>(m);
        var rotations = new List<(int P, int J, double C, double S)>();
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
                rotations.Add((prev, j, c, s));
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

        // Column layout of the work block (dlaed2's column types): kept columns nonzero only in the first half, then
        // the mixed ones, then those nonzero only in the second half, then the deflated columns. Each half of the
        // result then needs one contiguous range of columns (and of U's rows): about half the flops of Q·U.
        var column = new int[m];    // block column → work column
        var rowOfU = new int[kk];   // secular index → row of U
        int top = 0, both = 0;
        foreach (int c in kept)
            if (mixed[c]) both++;
            else if (c < k) top++;
        int nextTop = 0, nextBoth = top, nextBottom = top + both;
        for (int i = 0; i < kk; i++)
        {
            int c = kept[i];
            int slot = mixed[c] ? nextBoth++ : c < k ? nextTop++ : nextBottom++;
            column[c] = slot;
            rowOfU[i] = slot;
        }
        for (int j = 0; j < deflated.Count; j++) column[deflated[j]] = kk + j;
        // The same map inverted, for gathers: the block column each kept work column and each deflated one comes from.
        var keptSource = new int[kk];
        for (int c = 0; c < m; c++) if (column[c] < kk) keptSource[column[c]] = c;
        var deflatedSource = deflated.ToArray();

        var work = scratch.Work;
        int threads = (long)m * m > 100_000 ? context.Threads : 1;
        Parallelism.Run(threads, th =>
        {
            var (i0, i1) = Parallelism.Share(m, th, threads);
            var row = new double[m];
            for (int i = i0; i < i1; i++)
            {
                // Row i of the block diagonal diag(Q1, Q2): its half's part, zeros in the other.
                if (i < k)
                {
                    Array.Copy(q, (long)(lo + i) * n + lo, row, 0, k);
                    Array.Clear(row, k, m - k);
                }
                else
                {
                    Array.Clear(row, 0, k);
                    Array.Copy(q, (long)(lo + i) * n + lo + k, row, k, m - k);
                }
                foreach (var (p, j, c, s) in rotations)
                {
                    double xp = row[p], xj = row[j];
                    row[p] = c * xp + s * xj;
                    row[j] = c * xj - s * xp;
                }
                // Kept columns go to the work block (the GEMM's input), deflated ones straight to their final place in
                // q's row: the row was copied first, and the GEMM writes only the first kk columns. The GEMM of a
                // half reads only its own range of kept columns (the other type is zero in its rows), so only those
                // are gathered: without branches, and half the kept ones.
                long w0 = area + (long)i * m, q0 = (long)(lo + i) * n + lo + kk;
                int s0 = i < k ? 0 : top, s1 = i < k ? top + both : kk;
                for (int slot = s0; slot < s1; slot++) work[w0 + slot] = row[keptSource[slot]];
                for (int j = 0; j < deflatedSource.Length; j++) q[q0 + j] = row[deflatedSource[j]];
            }
        });

        var values = new double[m];
        if (kk > 0)
        {
            var dk = new double[kk];
            var zk = new double[kk];
            for (int i = 0; i < kk; i++) { dk[i] = dd[kept[i]]; zk[i] = z[kept[i]]; }
            var u = scratch.U;
            SecularEigenvectors(dk, zk, rho, values, u, rowOfU, context.Threads, uOffset: area);
            // q[lo + rows, lo : lo+kk] = work[rows, range]·U[range, :] for each half.
            var ub = new DoubleBlock(u, area, kk, kk, kk);
            DoubleGemm.Compute(Transpose.No, Transpose.No, 1, new DoubleBlock(work, area, k, top + both, m), ub.Block(0, 0, top + both, kk),
                0, new DoubleBlock(q, (long)lo * n + lo, k, kk, n), context: context);
            DoubleGemm.Compute(Transpose.No, Transpose.No, 1, new DoubleBlock(work, area + (long)k * m + top, m - k, kk - top, m),
                ub.Block(top, 0, kk - top, kk), 0, new DoubleBlock(q, (long)(lo + k) * n + lo, m - k, kk, n), context: context);
        }
        for (int j = 0; j < deflated.Count; j++) values[kk + j] = dd[deflated[j]];
        Array.Copy(values, 0, d, lo, m);
    }

    /// <summary>
    /// Eigenpairs of D + ρ·z zᵀ (d strictly increasing, every z nonzero, ρ &gt; 0): the roots of the secular equation
    /// 1 + ρ Σ z_i²/(d_i − λ) = 0 go into <paramref name="values"/>[0..K); the K×K eigenvector matrix (columns) goes
    /// into <paramref name="u"/>, component i of every vector in row <paramref name="rowOf"/>[i].
    /// Each root is kept as (origin pole, offset) so that d_i − λ_j is formed without cancellation.
    /// </summary>
    internal static void SecularEigenvectors(double[] dk, double[] zk, double rho, double[] values, double[] u, int[] rowOf, int maxThreads = 1,
        int maxIterations = MaxSecularIterations, long uOffset = 0)
    {
        int kk = dk.Length;
        var origin = new double[kk];   // d at each root's origin pole
        var tau = new double[kk];
        var weight = new double[kk];   // ρ·z_i², the numerators of the secular function
        double znorm2 = 0;
        for (int i = 0; i < kk; i++)
        {
            znorm2 += zk[i] * zk[i];
            weight[i] = rho * zk[i] * zk[i];
        }
        int threads = (long)kk * kk > 100_000 ? maxThreads : 1;
        Parallelism.Run(threads, th =>
        {
            var (j0, j1) = Parallelism.Share(kk, th, threads);
            var diff = new double[kk];
            for (int j = j0; j < j1; j++)
            {
                (int o, tau[j]) = SolveRoot(dk, weight, rho, znorm2, j, diff, maxIterations);
                origin[j] = dk[o];
            }
        });
        for (int j = 0; j < kk; j++) values[j] = origin[j] + tau[j];

        // Gu–Eisenstat: the z for which the computed roots are exact (its sign from the original z),
        // ẑ_i² = −δ(i, K−1)/ρ · Π_{j<i} δ(i, j)/(d_i − d_j) · Π_{j>i} δ(i, j−1)/(d_i − d_j) with δ(i, j) = d_i − λ_j
        // formed as (d_i − d_origin(j)) − τ_j, accurately.
        var zh = new double[kk];
        Parallelism.Run(threads, th =>
        {
            var (i0, i1) = Parallelism.Share(kk, th, threads);
            for (int i = i0; i < i1; i++)
            {
                double di = dk[i];
                double p = -((di - origin[kk - 1]) - tau[kk - 1]) / rho;
                // j < i pairs root j with pole j; j > i pairs root j − 1 with pole j.
                p *= RatioProduct(di, origin.AsSpan(0, i), tau.AsSpan(0, i), dk.AsSpan(0, i));
                p *= RatioProduct(di, origin.AsSpan(i, kk - 1 - i), tau.AsSpan(i, kk - 1 - i), dk.AsSpan(i + 1, kk - 1 - i));
                zh[i] = Math.CopySign(Math.Sqrt(Math.Max(p, 0)), zk[i]);
            }
        });
        // Column j of U: ẑ_i / δ(i, j), normalised, component i in row rowOf[i].
        Parallelism.Run(threads, th =>
        {
            var (j0, j1) = Parallelism.Share(kk, th, threads);
            var column = new double[kk];
            for (int j = j0; j < j1; j++)
            {
                double norm = 1 / Math.Sqrt(Quotients(zh, dk, origin[j], tau[j], column));
                for (int i = 0; i < kk; i++) u[uOffset + (long)rowOf[i] * kk + j] = column[i] * norm;
            }
        });
    }

    /// <summary>Π_j ((d − o_j) − τ_j)/(d − d_j), in SIMD lanes (the products of ratios near 1 stay in range as the sequential one does).</summary>
    private static double RatioProduct(double d, ReadOnlySpan<double> o, ReadOnlySpan<double> tau, ReadOnlySpan<double> poles)
    {
        int n = o.Length, w = Vector<double>.Count, j = 0;
        double p = 1;
        if (n >= w)
        {
            var vd = new Vector<double>(d);
            var lanes = Vector<double>.One;
            for (; j + w <= n; j += w)
                lanes *= ((vd - new Vector<double>(o[j..])) - new Vector<double>(tau[j..])) / (vd - new Vector<double>(poles[j..]));
            for (int l = 0; l < w; l++) p *= lanes[l];
        }
        for (; j < n; j++) p *= ((d - o[j]) - tau[j]) / (d - poles[j]);
        return p;
    }

    /// <summary>x_i = ẑ_i / ((d_i − o) − τ) into <paramref name="x"/>; returns Σ x_i².</summary>
    private static double Quotients(double[] zh, double[] dk, double o, double tau, double[] x)
    {
        int n = zh.Length, w = Vector<double>.Count, i = 0;
        double sum = 0;
        if (n >= w)
        {
            Vector<double> vo = new(o), vt = new(tau), acc = Vector<double>.Zero;
            for (; i + w <= n; i += w)
            {
                var q = new Vector<double>(zh, i) / ((new Vector<double>(dk, i) - vo) - vt);
                q.CopyTo(x, i);
                acc += q * q;
            }
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++)
        {
            double q = zh[i] / ((dk[i] - o) - tau);
            x[i] = q;
            sum += q * q;
        }
        return sum;
    }

    /// <summary>
    /// Root j of the secular equation, in (d_j, d_{j+1}) (or (d_K, d_K + ρ‖z‖²] for the last): bracketed Newton on
    /// f(τ) = 1 + ρ Σ z_i²/((d_i − d_o) − τ) about the nearer pole d_o, falling back to bisection.
    /// </summary>
    private static (int Origin, double Tau) SolveRoot(double[] dk, double[] weight, double rho, double znorm2, int j, double[] diff, int maxIterations)
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
            for (int i = 0; i < kk; i++) diff[i] = dk[i] - dk[j];
            double f = 1 + Secular(weight, diff, mid).F;
            if (f >= 0) { o = j; lo = 0; hi = mid; }
            else { o = j + 1; lo = -mid; hi = 0; }
        }
        for (int i = 0; i < kk; i++) diff[i] = dk[i] - dk[o];
        double t = 0.5 * (lo + hi);
        for (int iter = 0; iter < maxIterations; iter++)
        {
            var (sum, fp, fabs) = Secular(weight, diff, t);
            double f = 1 + sum;
            if (Math.Abs(f) <= 4 * Eps * kk * (1 + fabs)) return (o, t);
            if (f < 0) lo = t; else hi = t;
            if (hi - lo <= 2 * Eps * Math.Max(Math.Abs(lo), Math.Abs(hi))) return (o, 0.5 * (lo + hi));
            double next = t - f / fp;
            t = next > lo && next < hi ? next : 0.5 * (lo + hi);
        }
        // Every step at least halves the bracket unless Newton lands inside it, so this means NaN input or a bug.
        throw new InvalidOperationException(FormattableString.Invariant(
            $"The secular equation of a divide-and-conquer merge did not converge for root {j} of {kk} after {maxIterations} iterations (bracket [{lo:G17}, {hi:G17}] about pole {o}, ρ = {rho:G6})."));
    }

    /// <summary>
    /// Σ w_i/(δ_i − t), its derivative Σ w_i/(δ_i − t)² and Σ |w_i/(δ_i − t)| (the secular function less 1, its slope
    /// and the magnitude its rounding scales with), in SIMD lanes: the merge's O(K²) inner loop.
    /// </summary>
    private static (double F, double Slope, double Magnitude) Secular(double[] weight, double[] diff, double t)
    {
        int n = weight.Length, w = Vector<double>.Count, i = 0;
        double f = 0, fp = 0, fabs = 0;
        if (n >= w)
        {
            Vector<double> vt = new(t), vf = Vector<double>.Zero, vfp = Vector<double>.Zero, vabs = Vector<double>.Zero;
            for (; i + w <= n; i += w)
            {
                var inv = Vector<double>.One / (new Vector<double>(diff, i) - vt);
                var term = new Vector<double>(weight, i) * inv;
                vf += term;
                vabs += Vector.Abs(term);
                vfp += term * inv;
            }
            f = Vector.Sum(vf);
            fp = Vector.Sum(vfp);
            fabs = Vector.Sum(vabs);
        }
        for (; i < n; i++)
        {
            double inv = 1 / (diff[i] - t);
            double term = weight[i] * inv;
            f += term;
            fabs += Math.Abs(term);
            fp += term * inv;
        }
        return (f, fp, fabs);
    }
}
