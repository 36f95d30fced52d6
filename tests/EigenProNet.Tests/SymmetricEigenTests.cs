using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class SymmetricEigenTests
{
    /// <summary>
    /// Checks ‖A v_j − λ_j v_j‖ ≤ c·ε₃₂·‖A‖_F and ‖VᵀV − I‖_max ≤ c·ε₃₂ (vectors are returned in float32, so the
    /// float32 unit roundoff times a modest multiple of √n bounds both), and descending order.
    /// </summary>
    private static void AssertValid(MatrixView a, EigenDecomposition eig, string context)
    {
        int n = a.Rows, k = eig.Count;
        double normA = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) normA += (double)a[i, j] * a[i, j];
        normA = Math.Sqrt(normA);
        double tol = 8 * Math.Sqrt(n) * Reference.U * Math.Max(normA, 1e-300) + 1e-30;
        for (int j = 0; j < k; j++)
        {
            if (j > 0) Assert.True(eig.Values[j] <= eig.Values[j - 1], $"{context}: values not descending at {j}");
            double res = 0;
            for (int i = 0; i < n; i++)
            {
                double av = 0;
                for (int p = 0; p < n; p++) av += (double)a[i, p] * eig.Vectors[p, j];
                double r = av - eig.Values[j] * eig.Vectors[i, j];
                res += r * r;
            }
            Assert.True(Math.Sqrt(res) <= tol, $"{context}: residual of pair {j} = {Math.Sqrt(res):E2} > {tol:E2}");
        }
        for (int p = 0; p < k; p++)
            for (int q = p; q < k; q++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += (double)eig.Vectors[i, p] * eig.Vectors[i, q];
                Assert.True(Math.Abs(dot - (p == q ? 1 : 0)) <= 8 * Math.Sqrt(n) * Reference.U, $"{context}: VᵀV[{p},{q}] = {dot}");
            }
    }

    private static Matrix RandomPsd(int n, int rank, int seed)
    {
        var g = Reference.Random(n, rank, seed);
        return Gemm.Multiply(g, g, Transpose.No, Transpose.Yes);
    }

    [Fact]
    public void RandomPsdAndIndefiniteMatrices()
    {
        foreach (int n in new[] { 1, 2, 3, 7, 33, 130 })
        {
            var psd = RandomPsd(n, n, n);
            AssertValid(psd, SymmetricEigen.Full(psd), $"psd n={n}");
            var sym = Reference.Random(n, n, 100 + n);
            for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) sym[i, j] = sym[j, i];
            AssertValid(sym, SymmetricEigen.Full(sym), $"indefinite n={n}");
        }
    }

    [Fact]
    public void RankDeficientClustersDiagonalAndZero()
    {
        var lowRank = RandomPsd(60, 5, 3);
        var eig = SymmetricEigen.Full(lowRank);
        AssertValid(lowRank, eig, "rank 5");
        for (int j = 5; j < 60; j++) Assert.True(Math.Abs(eig.Values[j]) <= 1e-4 * eig.Values[0], $"λ{j} = {eig.Values[j]}");

        // Equal eigenvalues: a rotated diag(3,3,3,1,1,0.5,…).
        var q = SymmetricEigen.Full(RandomPsd(40, 40, 9)).Vectors;
        var lambda = Enumerable.Range(0, 40).Select(i => i < 3 ? 3f : i < 5 ? 1f : 0.5f).ToArray();
        var scaled = q.Clone();
        for (int i = 0; i < 40; i++) for (int j = 0; j < 40; j++) scaled[i, j] *= lambda[j];
        var clustered = Gemm.Multiply(scaled, q, Transpose.No, Transpose.Yes);
        for (int i = 0; i < 40; i++) for (int j = 0; j < i; j++) clustered[i, j] = clustered[j, i];
        eig = SymmetricEigen.Full(clustered);
        AssertValid(clustered, eig, "clusters");
        for (int j = 0; j < 40; j++) Assert.Equal(lambda[j], eig.Values[j], 4);

        var diag = new Matrix(6, 6);
        float[] dv = [0.5f, -2f, 7f, 0f, 7f, 1e-8f];
        for (int i = 0; i < 6; i++) diag[i, i] = dv[i];
        eig = SymmetricEigen.Full(diag);
        AssertValid(diag, eig, "diagonal");
        Assert.Equal(dv.Select(v => (double)v).OrderDescending().ToArray(), eig.Values);

        eig = SymmetricEigen.Full(new Matrix(5, 5));
        Assert.All(eig.Values, v => Assert.Equal(0, v));
        AssertValid(new Matrix(5, 5), eig, "zero");

        eig = SymmetricEigen.Full(Matrix.FromRows([4f]));
        Assert.Equal(4, eig.Values[0]);
        Assert.Equal(1f, Math.Abs(eig.Vectors[0, 0]));
    }

    [Fact]
    public void NystromOracleO6()
    {
        // rfm-and-dynamics.md §4 O6: two points at distance 1, Laplace L = 1, K/2.
        var x = Matrix.FromRows([0f], [1f]);
        var k = new LaplaceKernel(1).Evaluate(x, x);
        for (int i = 0; i < 4; i++) k.Data[i] /= 2;
        var eig = SymmetricEigen.Full(k);
        Assert.Equal(0.683939721, eig.Values[0], 6);
        Assert.Equal(0.316060279, eig.Values[1], 6);
        Assert.Equal(0.70710678, Math.Abs(eig.Vectors[0, 0]), 6);
        Assert.Equal(Math.Sign(eig.Vectors[0, 0]), Math.Sign(eig.Vectors[1, 0]));
        Assert.NotEqual(Math.Sign(eig.Vectors[0, 1]), Math.Sign(eig.Vectors[1, 1]));
    }

    [Fact]
    public void KernelMatricesOfRealCifarImages()
    {
        var x = Reference.CifarRows(300);
        foreach (Kernel kernel in new Kernel[] { new LaplaceKernel(20), new GaussianKernel(10), new NtkReluKernel(2) })
        {
            var k = kernel.Evaluate(x, x);
            for (int i = 0; i < k.Data.Length; i++) k.Data[i] /= 300;
            var eig = SymmetricEigen.Full(k);
            AssertValid(k, eig, kernel.ToString());
            Assert.True(eig.Values[^1] > -1e-5 * eig.Values[0], $"{kernel}: PSD up to rounding, smallest {eig.Values[^1]}");
            var top = SymmetricEigen.Top(k, 20);
            Assert.Equal(20, top.Count);
            for (int j = 0; j < 20; j++) Assert.Equal(eig.Values[j], top.Values[j], 12);
        }
    }

    [Fact]
    public void ManyReflectorBlocksKeepTheVectorsOrthonormal()
    {
        // The back-transformation runs in float32 a block of 128 reflectors at a time: at n = 700 six blocks round in
        // turn. A real-image Laplace matrix (fast-decaying spectrum, many tiny eigenvalues) and an indefinite one with
        // a 20-fold cluster both keep the float32 bounds; Top(k) on the dense path back-transforms only its k columns.
        var x = Reference.CifarRows(700);
        var k = new LaplaceKernel(20).Evaluate(x, x);
        for (int i = 0; i < k.Data.Length; i++) k.Data[i] /= 700;
        AssertValid(k, SymmetricEigen.Full(k), "Laplace n=700");
        var top = SymmetricEigen.Top(k, 30);
        AssertValid(k, top, "Laplace n=700, top 30");
        var clustered = Reference.Random(700, 700, 17);
        for (int i = 0; i < 700; i++) for (int j = 0; j < i; j++) clustered[i, j] = clustered[j, i];
        var q = SymmetricEigen.Full(clustered).Vectors;
        var values = new float[700];
        for (int i = 0; i < 700; i++) values[i] = i < 20 ? 1f : (i - 350) / 350f;
        var scaled = new Matrix(700, 700);
        for (int i = 0; i < 700; i++) for (int j = 0; j < 700; j++) scaled[i, j] = q[i, j] * values[j];
        var a = Gemm.Multiply(scaled, q, Transpose.No, Transpose.Yes);
        for (int i = 0; i < 700; i++) for (int j = 0; j < i; j++) a[i, j] = a[j, i];
        AssertValid(a, SymmetricEigen.Full(a), "clustered n=700");
    }

    /// <summary>Float64 checks of a tridiagonal solve: max residual ‖Tq − λq‖ and max |QᵀQ − I|.</summary>
    private static (double Residual, double Orthogonality) CheckTridiagonal(double[] d0, double[] e0, double[] values, double[] q, int n)
    {
        double res = 0, orth = 0;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
            {
                double tq = d0[i] * q[i * n + j] + (i > 0 ? e0[i - 1] * q[(i - 1) * n + j] : 0) + (i < n - 1 ? e0[i] * q[(i + 1) * n + j] : 0);
                res = Math.Max(res, Math.Abs(tq - values[j] * q[i * n + j]));
            }
        for (int p = 0; p < n; p++)
            for (int r = p; r < n; r++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += q[i * n + p] * q[i * n + r];
                orth = Math.Max(orth, Math.Abs(dot - (p == r ? 1 : 0)));
            }
        return (res, orth);
    }

    [Fact]
    public void DivideAndConquerMatchesTheClosedFormAndDeflatesSafely()
    {
        // T = tridiag(−1, 2, −1): λ_j = 2 − 2cos(jπ/(n+1)) exactly; n = 300 runs merges down to 32-row leaves.
        int n = 300;
        var d = Enumerable.Repeat(2.0, n).ToArray();
        var e = Enumerable.Repeat(-1.0, n).ToArray();
        var q = new double[n * n];
        Array.Fill(q, double.NaN);   // Solve writes every element before it reads it: q's old contents never matter
        var dw = (double[])d.Clone();
        TridiagonalEigen.Solve(dw, e, q, n);
        var sorted = dw.OrderBy(v => v).ToArray();
        // Backward stable: |Δλ| ≤ c·n·u·‖T‖ with ‖T‖ ≤ 4.
        for (int j = 0; j < n; j++) Assert.Equal(2 - 2 * Math.Cos((j + 1) * Math.PI / (n + 1)), sorted[j], 4 * n * 1.1e-16 * 4);
        var (res, orth) = CheckTridiagonal(d, e, dw, q, n);
        Assert.True(res < 1e-13 && orth < 1e-13, $"1-2-1: residual {res:E2}, orthogonality {orth:E2}");

        // Wilkinson's W⁺ (d_i = |i − 100|, e = 1): pairs of eigenvalues equal to many digits → the rotation deflation.
        // A zero coupling splits the problem; a constant diagonal with tiny couplings deflates almost everything.
        int m = 201;
        var cases = new List<(string, double[], double[])>
        {
            ("wilkinson", Enumerable.Range(0, m).Select(i => (double)Math.Abs(i - 100)).ToArray(), Enumerable.Repeat(1.0, m).ToArray()),
            ("split", Enumerable.Range(0, m).Select(i => Math.Sin(i)).ToArray(), Enumerable.Range(0, m).Select(i => i == 100 ? 0.0 : 0.5).ToArray()),
            ("near-diagonal", Enumerable.Repeat(1.0, m).ToArray(), Enumerable.Range(0, m).Select(i => 1e-18 * (i % 3)).ToArray()),
        };
        foreach (var (name, dd, ee) in cases)
        {
            var dv = (double[])dd.Clone();
            var qq = new double[m * m];
            Array.Fill(qq, double.NaN);
            TridiagonalEigen.Solve(dv, ee, qq, m);
            var (r, o) = CheckTridiagonal(dd, ee, dv, qq, m);
            double scale = dd.Max(Math.Abs) + 2 * ee.Max(Math.Abs);
            Assert.True(r < 50 * m * 1.1e-16 * scale && o < 50 * m * 1.1e-16, $"{name}: residual {r:E2}, orthogonality {o:E2}");
        }
        // Glued Wilkinson matrices (copies of W21⁺ coupled by γ): clusters of nearly equal eigenvalues spread over
        // both halves of a merge, so deflating rotations chain across the halves (a column mixed by one rotation
        // mixes the next) — the case that once lost orthogonality (0.5) when the chain was not tracked.
        foreach (var (copies, glue) in new[] { (8, 1e-10), (8, 1e-4), (30, 1e-14), (30, 1e-7) })
        {
            int ng = 21 * copies;
            var dd = Enumerable.Range(0, ng).Select(i => (double)Math.Abs(i % 21 - 10)).ToArray();
            var ee = Enumerable.Range(0, ng).Select(i => i % 21 == 20 ? glue : 1.0).ToArray();
            var dv = (double[])dd.Clone();
            var qq = new double[ng * ng];
            TridiagonalEigen.Solve(dv, ee, qq, ng);
            var (r, o) = CheckTridiagonal(dd, ee, dv, qq, ng);
            Assert.True(r < 50 * ng * 1.1e-16 * 12 && o < 50 * ng * 1.1e-16, $"glued {copies}×W21⁺, γ = {glue}: residual {r:E2}, orthogonality {o:E2}");
        }
        // Wilkinson W21+'s largest eigenvalue (Wilkinson 1965): 10.746194182903393.
        var w21 = Enumerable.Range(0, 21).Select(i => (double)Math.Abs(i - 10)).ToArray();
        var w21q = new double[21 * 21];
        TridiagonalEigen.Solve(w21, Enumerable.Repeat(1.0, 21).ToArray(), w21q, 21);
        Assert.Equal(10.746194182903393, w21.Max(), 12);
    }

    /// <summary>The symmetric product's rows [q0, q1) on one SIMD path, for float or double.</summary>
    private static unsafe void Accumulate<T>(SimdPath path, T* b, int n, int m, int q0, int q1, T* x, T* y)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        switch (path)
        {
            case SimdPath.Vector512: SymmetricEigen.SymmetricProduct<T>.Accumulate<Simd512<T>, System.Runtime.Intrinsics.Vector512<T>>(b, n, m, q0, q1, x, y); break;
            case SimdPath.Vector256: SymmetricEigen.SymmetricProduct<T>.Accumulate<Simd256<T>, System.Runtime.Intrinsics.Vector256<T>>(b, n, m, q0, q1, x, y); break;
            case SimdPath.Vector128: SymmetricEigen.SymmetricProduct<T>.Accumulate<Simd128<T>, System.Runtime.Intrinsics.Vector128<T>>(b, n, m, q0, q1, x, y); break;
            default: SymmetricEigen.SymmetricProduct<T>.Accumulate<SimdScalar<T>, T>(b, n, m, q0, q1, x, y); break;
        }
    }

    [Fact]
    public unsafe void HalfStorageSymmetricProductInFloat32MatchesTheFloat64Reference()
    {
        // The float32 instance the dense eigensolver reduces with: every vector width, row ranges on and off the
        // eight-row groups, against float64 sums of the same float32 entries (error ≤ (m + 2)·u·Σ|b||x| per entry).
        // Everything left of the diagonal is NaN (the solver never forms it): the vectors that start left of a group's
        // columns must mask it off, for every remainder of the row lengths modulo the widths (n = 77 … 92).
        foreach (int n in new[] { 77, 80, 85, 92 })
        {
            int r0 = 6, m = n - r0;
            var rng = new Random(8);
            var a = new float[n * n];
            for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
            for (int i = 0; i < n; i++) for (int j = 0; j < Math.Min(n, Math.Max(i, r0)); j++) a[i * n + j] = float.NaN;
            var x = Enumerable.Range(0, m).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            foreach (var path in SimdCapabilities.Supported)
                foreach (var (q0, q1) in new[] { (0, m), (0, 17), (17, m), (5, 19), (64, m) })
                {
                    var y = new float[m];
                    fixed (float* pa = a, px = x, py = y)
                    {
                        Accumulate(path, pa + r0 * n + r0, n, m, q0, q1, px, py);
                    }
                    var partial = new double[m];
                    var magnitude = new double[m];
                    for (int i = q0; i < q1; i++)
                        for (int j = i; j < m; j++)
                        {
                            double v = a[(r0 + i) * n + r0 + j];
                            partial[i] += v * x[j];
                            magnitude[i] += Math.Abs(v * x[j]);
                            if (j > i) { partial[j] += v * x[i]; magnitude[j] += Math.Abs(v * x[i]); }
                        }
                    for (int i = 0; i < m; i++)
                        Assert.True(Math.Abs(y[i] - partial[i]) <= (m + 2) * Reference.U * magnitude[i] + 1e-30,
                            $"{path} n={n} rows {q0}..{q1}: y[{i}] = {y[i]}, expected {partial[i]}");
                }
        }
    }

    [Fact]
    public unsafe void HalfStorageSymmetricProductMatchesTheReferenceOnEveryVectorPath()
    {
        // The tridiagonalisation's memory-bound kernel: y = B·x from the upper triangle of a trailing block, eight rows
        // at a time, then four, then one by one, on every vector width this CPU runs (and the scalar one).
        int n = 45, r0 = 4, m = n - r0;
        var rng = new Random(5);
        var a = new double[n * n];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextDouble() - 0.5;
        var x = Enumerable.Range(0, m).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var expected = new double[m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                expected[i] += a[(r0 + Math.Min(i, j)) * n + r0 + Math.Max(i, j)] * x[j];
        foreach (var path in SimdCapabilities.Supported)
            foreach (var (q0, q1) in new[] { (0, m), (0, 17), (17, m), (0, 13), (5, 19), (30, m) })
            {
                var y = new double[m];
                fixed (double* pa = a, px = x, py = y)
                {
                    Accumulate(path, pa + r0 * n + r0, n, m, q0, q1, px, py);
                }
                // Rows [q0, q1) contribute to y[i] (their dot) and to y[j > i] (their off-diagonal part).
                var partial = new double[m];
                for (int i = q0; i < q1; i++)
                    for (int j = i; j < m; j++)
                    {
                        double v = a[(r0 + i) * n + r0 + j];
                        partial[i] += v * x[j];
                        if (j > i) partial[j] += v * x[i];
                    }
                for (int i = 0; i < m; i++) Assert.True(Math.Abs(y[i] - partial[i]) <= 1e-14 * m, $"{path} rows {q0}..{q1}: y[{i}] = {y[i]}, expected {partial[i]}");
                if (q0 == 0 && q1 == m)
                    for (int i = 0; i < m; i++) Assert.Equal(expected[i], y[i], 1e-13);
            }
    }

    [Fact]
    public void BlockedPathOnLargerRandomMatrices()
    {
        // n = 300: nine tridiagonalisation panels with trailing GEMM updates, five reflector blocks, D&C merges.
        var psd = RandomPsd(300, 300, 21);
        AssertValid(psd, SymmetricEigen.Full(psd), "psd n=300");
        var sym = Reference.Random(300, 300, 22);
        for (int i = 0; i < 300; i++) for (int j = 0; j < i; j++) sym[i, j] = sym[j, i];
        AssertValid(sym, SymmetricEigen.Full(sym), "indefinite n=300");
    }

    [Fact]
    public void PooledWorkArraysNeverLeakTheirOldContents()
    {
        // The dense path's n² work arrays come from the shared pool: whatever a previous user left there (NaN here,
        // zeros next) must not change a single bit of the result.
        const int n = 300;
        var psd = RandomPsd(n, n, 23);
        foreach (var precision in new[] { ReductionPrecision.Single, ReductionPrecision.Double })
        {
            Poison(n * n, float.NaN);
            var poisoned = SymmetricEigen.Full(psd, precision: precision);
            AssertValid(psd, poisoned, $"{precision} after NaN in the pool");
            Poison(n * n, 0f);
            var clean = SymmetricEigen.Full(psd, precision: precision);
            Assert.Equal(clean.Values, poisoned.Values);
            Assert.Equal(clean.Vectors.Data, poisoned.Vectors.Data);
        }

        static void Poison(int length, float value)
        {
            var floats = Enumerable.Range(0, 4).Select(_ => System.Buffers.ArrayPool<float>.Shared.Rent(length)).ToArray();
            var doubles = Enumerable.Range(0, 4).Select(_ => System.Buffers.ArrayPool<double>.Shared.Rent(length)).ToArray();
            foreach (var f in floats) { Array.Fill(f, value); System.Buffers.ArrayPool<float>.Shared.Return(f); }
            foreach (var d in doubles) { Array.Fill(d, value); System.Buffers.ArrayPool<double>.Shared.Return(d); }
        }
    }

    [Fact]
    public void WorkArraysAreReusedOnlyUpToTheCap()
    {
        // Small ones go back to the shared pool (the next rent of the size gets one back); above 32 MiB an array is
        // a plain allocation of exactly the length asked for and is never kept, so no phase outlives its budget.
        var small = WorkArrayPool.Rent<double>(1000);
        Assert.True(small.Length >= 1000);
        WorkArrayPool.Return(small);
        Assert.Same(small, WorkArrayPool.Rent<double>(1000));
        int over = (int)(WorkArrayPool.MaxRetainedBytes / sizeof(double)) + 1;
        var large = WorkArrayPool.Rent<double>(over);
        Assert.Equal(over, large.Length);
        WorkArrayPool.Return(large);
        Assert.NotSame(large, WorkArrayPool.Rent<double>(over));
    }

    /// <summary>‖A·v_j − λ_j·v_j‖ in float64 for each returned pair.</summary>
    private static double[] Residuals(MatrixView a, EigenDecomposition eig)
    {
        var av = Gemm.Multiply(a, eig.Vectors);
        var r = new double[eig.Count];
        for (int j = 0; j < eig.Count; j++)
        {
            double s = 0;
            for (int i = 0; i < a.Rows; i++) { double t = av[i, j] - eig.Values[j] * eig.Vectors[i, j]; s += t * t; }
            r[j] = Math.Sqrt(s);
        }
        return r;
    }

    [Fact]
    public void TopKBySubspaceIterationAgreesWithTheFullDecompositionOnRealData()
    {
        int n = 1600, k = 50;
        var x = Reference.CifarRows(n);
        var a = new LaplaceKernel(20).Evaluate(x, x);
        for (int i = 0; i < a.Data.Length; i++) a.Data[i] /= n;
        Assert.True(SubspaceIteration.Pays(n, k));   // the iterative path is the one under test
        var full = SymmetricEigen.Full(a);
        var top = SymmetricEigen.Top(a, k);
        Assert.Equal(k, top.Count);
        double norm = full.Values[0];
        // The stopping rule, checked independently: every residual within tolerance·‖A‖₂ (plus the float32 error of
        // the check itself), and so every value within that distance of a true eigenvalue (Weyl/Bauer–Fike).
        var res = Residuals(a, top);
        for (int j = 0; j < k; j++)
        {
            Assert.True(res[j] <= 1.5 * SymmetricEigen.DefaultTolerance * norm, $"pair {j}: residual {res[j] / norm:E2}·‖A‖");
            Assert.Equal(full.Values[j], top.Values[j], 2 * SymmetricEigen.DefaultTolerance * norm);
        }
        for (int p = 0; p < k; p++)
            for (int q = p; q < k; q++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += (double)top.Vectors[i, p] * top.Vectors[i, q];
                Assert.True(Math.Abs(dot - (p == q ? 1 : 0)) <= 1e-5, $"VᵀV[{p},{q}] = {dot}");
            }
        // Pairs lock in stages (the block shrinks before the last iteration), and the direct call agrees.
        var locked = new List<int>();
        var direct = SubspaceIteration.Run(a, k, SymmetricEigen.DefaultTolerance, lockedPerIteration: locked)!;
        Assert.Contains(locked, l => l > 0 && l < k);
        Assert.Equal(k, locked[^1]);
        Assert.Equal(top.Values, direct.Values);
        // A tighter tolerance is honoured too.
        var tight = SymmetricEigen.Top(a, k, tolerance: 1e-6);
        Assert.True(Residuals(a, tight).Max() <= 1.5e-6 * norm + 20 * Reference.U * norm);
        // Same input, same result (fixed internal seed).
        Assert.Equal(top.Values, SymmetricEigen.Top(a, k).Values);
    }

    [Fact]
    public void PairsThatStallBehindLockedNeighboursAreUnlockedAndConverge()
    {
        // The EigenPro 3 data preconditioner's setting in small: top 501 of a unit-range CIFAR-10 Laplace matrix, whose
        // tail is flat. Pairs locked at the tolerance carry parts of their still-iterating neighbours, and the last
        // pairs stall until the locked vectors rejoin the block (on 5 000 rows they never converged before: 60 wasted
        // iterations, then the dense path, 26 s of setup instead of 12).
        int n = 2000, k = 501;
        var x = Reference.CifarRows(n);
        EigenProNet.Data.Preprocessor.Fit(EigenProNet.Data.Scaling.UnitRange, x).TransformInPlace(x);
        var a = new LaplaceKernel(40).Evaluate(x, x);
        for (int i = 0; i < a.Data.Length; i++) a.Data[i] /= n;
        var locked = new List<int>();
        var top = SubspaceIteration.Run(a, k, SymmetricEigen.DefaultTolerance, maxIterations: 60, lockedPerIteration: locked);
        Assert.NotNull(top);
        Assert.Contains(Enumerable.Range(1, locked.Count - 1), i => locked[i] < locked[i - 1]);   // the unlock ran
        var full = SymmetricEigen.Full(a);
        double norm = full.Values[0];
        var res = Residuals(a, top);
        for (int j = 0; j < k; j++)
        {
            Assert.True(res[j] <= 1.5 * SymmetricEigen.DefaultTolerance * norm, $"pair {j}: residual {res[j] / norm:E2}·‖A‖");
            Assert.Equal(full.Values[j], top.Values[j], 2 * SymmetricEigen.DefaultTolerance * norm);
        }
        double worstDot = 0;
        for (int p = 0; p < k; p++)
            for (int q = p; q < k; q++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += (double)top.Vectors[i, p] * top.Vectors[i, q];
                worstDot = Math.Max(worstDot, Math.Abs(dot - (p == q ? 1 : 0)));
            }
        Assert.True(worstDot <= 1e-5, $"max |VᵀV − I| = {worstDot:E2}");
    }

    [Fact]
    public void TopKOfARankDeficientMatrixFallsBackToTheExactPath()
    {
        // Rank 20 < block size: the block cannot stay independent; the dense path returns the zero eigenvalues exactly.
        var a = RandomPsd(1600, 20, 31);
        Assert.True(SubspaceIteration.Pays(1600, 40));
        var top = SymmetricEigen.Top(a, 40);
        Assert.Equal(40, top.Count);
        double norm = top.Values[0];
        Assert.True(top.Values[19] > 1e-3 * norm);
        for (int j = 20; j < 40; j++) Assert.True(Math.Abs(top.Values[j]) < 1e-5 * norm, $"value {j} = {top.Values[j]}");
        Assert.True(Residuals(a, top).Max() < 1e-5 * norm);
    }

    [Fact]
    public void NonConvergenceNamesTheEigenpairAndItsResidual()
    {
        var x = Reference.CifarRows(600);
        var a = new GaussianKernel(5).Evaluate(x, x);
        var e = Assert.Throws<InvalidOperationException>(() => SubspaceIteration.Run(a, 30, 1e-9, maxIterations: 2));
        Assert.Contains("did not converge in 2 subspace iterations", e.Message);
        Assert.Matches(@"eigenpair \d+ still has relative residual", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricEigen.Top(a, 5, tolerance: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricEigen.Top(a, 5, tolerance: double.NaN));
    }

    [Fact]
    public void BadInputGivesClearErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => SymmetricEigen.Full(new Matrix(3, 4)));
        Assert.Contains("square", e.Message);
        var asym = Matrix.FromRows([1f, 2f], [3f, 1f]);
        e = Assert.Throws<ArgumentException>(() => SymmetricEigen.Full(asym));
        Assert.Contains("symmetric", e.Message);
        var nan = new Matrix(2, 2);
        nan[1, 1] = float.NaN;
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Full(nan));
        Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricEigen.Top(new Matrix(3, 3), 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricEigen.Top(new Matrix(3, 3), -1));
    }

    [Fact]
    public void BothReductionsMeetTheirErrorModelsOnAGradedSpectrum()
    {
        // A = Q·diag(λ)·Qᵀ with λ from 1 down to 1e-6 (a kernel matrix's decay), Q from a float64 QR of a random
        // matrix; the float64 decomposition of the float32-rounded A is the reference. The float32 reduction's
        // eigenvalues are within c·n·u·λ₁ (LAPACK ssyevd's model), the float64 one's within float64 rounding of the
        // float32 input; both give valid pairs.
        int n = 160;
        var (a, expected) = WithSpectrum(n, p => Math.Pow(1e-6, p / (n - 1.0)), 12);
        foreach (var (precision, bound) in new[] { (ReductionPrecision.Single, 4.0 * n * Reference.U), (ReductionPrecision.Double, 1e-12) })
        {
            var eig = SymmetricEigen.Full(a, precision: precision);
            AssertValid(a, eig, precision.ToString());
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(eig.Values[i] - expected[i]) <= bound * expected[0], $"{precision}: λ{i} = {eig.Values[i]:E6}, expected {expected[i]:E6}");
        }
    }

    [Fact]
    public void TheFloat32PathDeflatesASpectrumBelowItsRoundoffAndStaysValid()
    {
        // The float32 reduction's divide and conquer deflates at 2⁻²⁶·max(|d|, |z|) (as ssyevd's sstedc does at 2⁻²⁴):
        // a spectrum that falls to 1e-12, with a third of it exactly zero and pairs of equal eigenvalues, deflates most
        // of its pairs. Every pair must still meet the residual and orthogonality bounds of the float32 model, and the
        // eigenvalues lie within 4·n·u·λ₁ of the float64 decomposition of the same float32 matrix.
        int n = 300;
        var (a, expected) = WithSpectrum(n, p => p >= 200 ? 0 : Math.Pow(1e-12, (p / 2 * 2) / 199.0), 13);
        var eig = SymmetricEigen.Full(a);
        AssertValid(a, eig, "deflated");
        for (int i = 0; i < n; i++)
            Assert.True(Math.Abs(eig.Values[i] - expected[i]) <= 4.0 * n * Reference.U * expected[0], $"λ{i} = {eig.Values[i]:E6}, expected {expected[i]:E6}");
    }

    /// <summary>
    /// A = Q·diag(λ)·Qᵀ rounded to float32 (symmetric exactly), Q from the float64 decomposition of a random symmetric
    /// matrix, and the float64 eigenvalues of that float32 A, descending: the reference.
    /// </summary>
    private static (Matrix A, double[] Expected) WithSpectrum(int n, Func<int, double> lambda, int seed)
    {
        var g = new double[n * n];
        var rng = new Random(seed);
        for (int i = 0; i < g.Length; i++) g[i] = rng.NextDouble() - 0.5;
        var (_, q) = SymmetricEigen.Decompose((double[])Symmetrize(g, n).Clone(), n);
        var values = Enumerable.Range(0, n).Select(lambda).ToArray();
        var a = new Matrix(n, n);
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < n; p++) sum += q[i * n + p] * values[p] * q[j * n + p];
                a[i, j] = a[j, i] = (float)sum;
            }
        var exact = new double[n * n];
        for (int i = 0; i < exact.Length; i++) exact[i] = a.Data[i];
        var (reference, _) = SymmetricEigen.Decompose(exact, n);
        return (a, reference.OrderByDescending(v => v).ToArray());
    }

    private static double[] Symmetrize(double[] g, int n)
    {
        var s = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) s[i * n + j] = g[i * n + j] + g[j * n + i];
        return s;
    }

    [Fact]
    public void SymmetryCheckFindsEveryMismatchAndNamesIt()
    {
        // The check compares 8×8 blocks with their mirrors in registers and the ragged rest element by element: a
        // mismatch anywhere — inside a block, on a block's edge, in the tail rows — must be found and named, one just
        // inside the tolerance must pass, and strided views must be read through their stride.
        int n = 37;
        var g = Reference.Random(n, n, 3);
        var sym = Gemm.Multiply(g, g, Transpose.No, Transpose.Yes);
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) sym[i, j] = sym[j, i];
        float scale = sym.Data.Max(Math.Abs);
        SymmetricEigen.Validate(sym, "a");
        foreach (var (i, j) in new[] { (1, 0), (7, 0), (8, 7), (15, 9), (31, 24), (32, 3), (36, 35), (36, 0) })
        {
            var bad = sym.Clone();
            bad[i, j] += 0.01f * scale;
            var e = Assert.Throws<ArgumentException>(() => SymmetricEigen.Validate(bad, "a"));
            Assert.Contains($"A[{i},{j}]", e.Message);
            var mirrored = sym.Clone();
            mirrored[j, i] += 0.01f * scale;
            Assert.Contains($"A[{i},{j}]", Assert.Throws<ArgumentException>(() => SymmetricEigen.Validate(mirrored, "a")).Message);
            var slight = sym.Clone();
            slight[i, j] += 0.5f * (float)SymmetricEigen.SymmetryTolerance * scale;
            SymmetricEigen.Validate(slight, "a");
        }
        var big = new Matrix(50, 60);
        var view = big.View.Block(3, 5, n, n);
        for (int i = 0; i < n; i++) sym.Row(i).CopyTo(view.Row(i));
        big[3 + 20, 5 + 10] = 1e6f;   // inside the view: asymmetric
        Assert.Contains("A[20,10]", Assert.Throws<ArgumentException>(() => SymmetricEigen.Validate(view, "a")).Message);
        big[3 + 20, 5 + 10] = sym[20, 10];
        big[0, 0] = 1e6f;             // outside the view: ignored
        SymmetricEigen.Validate(view, "a");
    }

    [Fact]
    public void SecularSolverFindsTheRootsAndReportsNonConvergence()
    {
        // D + ρ·z zᵀ with D = diag(0, 1, 2, 3), z = ½·1, ρ = 1: the eigenvalues of the dense matrix.
        double[] dk = [0, 1, 2, 3], zk = [0.5, 0.5, 0.5, 0.5];
        var values = new double[4];
        var u = new double[16];
        TridiagonalEigen.SecularEigenvectors(dk, zk, 1, values, u, [0, 1, 2, 3]);
        var dense = new double[16];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) dense[i * 4 + j] = (i == j ? dk[i] : 0) + zk[i] * zk[j];
        var (expected, _) = SymmetricEigen.Decompose(dense, 4);
        Array.Sort(expected);
        var sorted = values.OrderBy(v => v).ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], sorted[i], 12);
        var e = Assert.Throws<InvalidOperationException>(() =>
            TridiagonalEigen.SecularEigenvectors(dk, zk, 1, values, u, [0, 1, 2, 3], maxIterations: 1));
        Assert.Contains("did not converge", e.Message);
    }

    [Fact]
    public void TopFallsBackToTheDenseSolverWhenTheIterationCannotConverge()
    {
        // A residual tolerance below what float32 products can reach: the iteration stops after its 60 iterations and
        // the dense path answers, exactly, instead of failing (a real CIFAR-10 Laplace matrix once stalled at 1.2e-5).
        int n = 1600, k = 30;
        var x = Reference.CifarRows(n);
        var a = new LaplaceKernel(20).Evaluate(x, x);
        for (int i = 0; i < a.Data.Length; i++) a.Data[i] /= n;
        Assert.True(SubspaceIteration.Pays(n, k));
        Assert.Null(SubspaceIteration.Run(a, k, 1e-9, maxIterations: 3, nullIfNotConverged: true));
        var top = SymmetricEigen.Top(a, k, tolerance: 1e-9);
        var full = SymmetricEigen.Full(a);
        for (int j = 0; j < k; j++) Assert.Equal(full.Values[j], top.Values[j], 12);
    }
}
