using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class KernelTests
{
    /// <summary>Float64 reference kernels written straight from the formulas (spec eigenpro.md §4, rfm-and-dynamics.md §1.1).</summary>
    private static double Naive(Kernel kernel, ReadOnlySpan<float> x, ReadOnlySpan<float> z)
    {
        int d = x.Length;
        switch (kernel)
        {
            case LaplaceKernel l: return Math.Exp(-Math.Sqrt(Sq(x, z)) / l.Bandwidth);
            case GaussianKernel g: return Math.Exp(-Sq(x, z) / (2 * g.Bandwidth * g.Bandwidth));
            case MahalanobisKernel mk:
            {
                var m = mk.MatrixM();
                double q = 0;
                for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) q += ((double)x[i] - z[i]) * m[i, j] * ((double)x[j] - z[j]);
                q = Math.Max(q, 0);
                return mk is MahalanobisGaussianKernel ? Math.Exp(-q / (2 * mk.Bandwidth * mk.Bandwidth)) : Math.Exp(-Math.Sqrt(q) / mk.Bandwidth);
            }
            case NtkReluKernel ntk:
            {
                double s = 0, nx = 0, nz = 0;
                for (int i = 0; i < d; i++) { s += (double)x[i] * z[i]; nx += (double)x[i] * x[i]; nz += (double)z[i] * z[i]; }
                nx = Math.Max(Math.Sqrt(nx), 1e-12); nz = Math.Max(Math.Sqrt(nz), 1e-12);
                double prod = ntk.UnitSphere ? 1 : nx * nz, b2 = ntk.Bias * ntk.Bias, n = s + b2;
                for (int l = 1; l < ntk.Depth; l++)
                {
                    double u = Math.Clamp(s / prod, -1 + 1e-12, 1 - 1e-12);
                    double k0 = 1 - Math.Acos(u) / Math.PI, k1 = u * k0 + Math.Sqrt(1 - u * u) / Math.PI;
                    s = prod * k1;
                    n = n * k0 + s + b2;
                }
                return n;
            }
            default: throw new NotSupportedException(kernel.ToString());
        }
    }

    private static double Sq(ReadOnlySpan<float> x, ReadOnlySpan<float> z)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++) { double v = (double)x[i] - z[i]; s += v * v; }
        return s;
    }

    private static Matrix SymmetricPd(int d, int seed)
    {
        var m = Reference.Random(d, d, seed, 0.3f);
        var spd = Gemm.Multiply(m, m, Transpose.No, Transpose.Yes);
        for (int i = 0; i < d; i++) spd[i, i] += 0.5f;
        for (int i = 0; i < d; i++) for (int j = 0; j < i; j++) spd[i, j] = spd[j, i];
        return spd;
    }

    private static IEnumerable<Kernel> AllKernels(int d) =>
    [
        new LaplaceKernel(2.5), new GaussianKernel(1.7), new NtkReluKernel(1), new NtkReluKernel(2, bias: 0.3),
        new NtkReluKernel(3), new NtkReluKernel(2, unitSphere: true),
        new MahalanobisLaplaceKernel(2.0, SymmetricPd(d, 77)),
        new MahalanobisLaplaceKernel(2.0, Enumerable.Range(0, d).Select(i => 0.2f + i % 3).ToArray()),
        new MahalanobisLaplaceKernel(2.0, RankDeficient(d, 2, 78)),
        new MahalanobisGaussianKernel(3.0, SymmetricPd(d, 79)),
        new MahalanobisGaussianKernel(3.0, Enumerable.Range(0, d).Select(i => i % 4 == 0 ? 0f : 0.5f).ToArray()),
    ];

    /// <summary>A PSD matrix of rank min(rank, d) (RFM's learned M is often nearly that).</summary>
    private static Matrix RankDeficient(int d, int rank, int seed)
    {
        var v = Reference.Random(d, Math.Min(rank, d), seed, 0.5f);
        var m = Gemm.Multiply(v, v, Transpose.No, Transpose.Yes);
        for (int i = 0; i < d; i++) for (int j = 0; j < i; j++) m[i, j] = m[j, i];
        return m;
    }

    /// <summary>
    /// Float32 error model for a kernel value: inputs are exact floats, the cross term carries ~(d + 2)·u relative
    /// error of the norms it cancels against, the elementwise tail adds a few ulps. For distance kernels the
    /// error is in the exponent: |Δk| ≤ k·|Δ(d/L)| with Δ(d²) ≤ c·(d+2)·u·(‖a‖² + ‖b‖²).
    /// </summary>
    private static double Tolerance(Kernel kernel, ReadOnlySpan<float> x, ReadOnlySpan<float> z, double exact)
    {
        int d = x.Length;
        double nx = 0, nz = 0;
        for (int i = 0; i < d; i++) { nx += (double)x[i] * x[i]; nz += (double)z[i] * z[i]; }
        double crossErr = 4 * (2 * d + 4) * Reference.U * (nx + nz) * (kernel is MahalanobisKernel m ? MaxAbs(m) * d : 1);
        double dist = Math.Sqrt(Math.Max(Sq(x, z), 1e-30));
        return kernel switch
        {
            // d(√t)/dt = 1/(2√t); near t = 0 the exact recompute takes over, so bound Δ√t by √Δt as well.
            LaplaceKernel l => exact * Math.Min(crossErr / (2 * dist), Math.Sqrt(crossErr)) / l.Bandwidth + 1e-6,
            MahalanobisGaussianKernel mg => exact * crossErr / (2 * mg.Bandwidth * mg.Bandwidth) + 1e-5,
            MahalanobisKernel mk => exact * Math.Sqrt(crossErr) / mk.Bandwidth + 1e-5,
            GaussianKernel g => exact * crossErr / (2 * g.Bandwidth * g.Bandwidth) + 1e-6,
            NtkReluKernel ntk => 1e-5 * ntk.Depth * (Math.Sqrt(nx * nz) + ntk.Bias * ntk.Bias) + 1e-6,
            _ => throw new NotSupportedException(),
        };
    }

    private static double MaxAbs(MahalanobisKernel m) => m.MatrixM().Data.Max(v => Math.Abs(v));

    private static void AssertMatchesReference(Kernel kernel, Matrix a, Matrix b, SimdPath path)
    {
        var output = new Matrix(a.Rows, b.Rows);
        kernel.Evaluate(kernel.Prepare(a), kernel.Prepare(b), output, Reference.Context(path, 2));
        for (int i = 0; i < a.Rows; i++)
            for (int j = 0; j < b.Rows; j++)
            {
                double exact = Naive(kernel, a.Row(i), b.Row(j));
                double tol = Tolerance(kernel, a.Row(i), b.Row(j), exact);
                Assert.True(Math.Abs(output[i, j] - exact) <= tol,
                    $"{kernel} {path}: K[{i},{j}] = {output[i, j]}, exact {exact}, tol {tol:E2}");
            }
    }

    public static TheoryData<SimdPath> Paths() => GemmTests.Paths();

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryKernelMatchesFloat64ReferenceOnRandomShapes(SimdPath path)
    {
        foreach (var (m, n, d) in new[] { (1, 1, 1), (7, 33, 5), (33, 7, 17), (20, 45, 64) })
            foreach (var kernel in AllKernels(d))
            {
                var a = Reference.Random(m, d, m * 31 + d);
                var b = Reference.Random(n, d, n * 17 + d);
                if (kernel is NtkReluKernel { UnitSphere: true })
                {
                    Normalize(a);
                    Normalize(b);
                }
                AssertMatchesReference(kernel, a, b, path);
            }
    }

    private static void Normalize(Matrix m)
    {
        for (int i = 0; i < m.Rows; i++)
        {
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(m.Row(i));
            if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(m.Row(i), norm, m.Row(i));
        }
    }

    [Fact]
    public void SpecOraclesLaplaceGaussian()
    {
        var a = Matrix.FromRows([0f, 0f]);
        var b = Matrix.FromRows([3f, 4f]);
        Assert.Equal(0.36787944, new LaplaceKernel(5).Evaluate(a, b)[0, 0], 6);
        Assert.Equal(0.60653066, new GaussianKernel(5).Evaluate(a, b)[0, 0], 6);
    }

    [Fact]
    public void SpecOraclesNtk()
    {
        // rfm-and-dynamics.md §4 O5 and eigenpro.md §7.1.
        var x = Matrix.FromRows([1f, 0f], [1f, 0f], [1f, 0f], [1f, 2f]);
        var z = Matrix.FromRows([0f, 1f], [1f, 1f], [1f, 0f], [-1f, 0.5f]);
        double[] depth2 = [0.318309886, 1.818309886, 1.99999955, 0.795774715];
        double[] depth3 = [0.685708636, 2.525059992, 2.99999865, 1.714271591];
        foreach (var (depth, expected) in new[] { (2, depth2), (3, depth3) })
        {
            var k = new NtkReluKernel(depth).Evaluate(x, z);
            for (int i = 0; i < 4; i++)
                Assert.True(Math.Abs(k[i, i] - expected[i]) <= 2e-6 * depth, $"depth {depth} pair {i}: {k[i, i]} vs {expected[i]}");
        }
        // depth 1, bias 0 is the linear kernel.
        var lin = new NtkReluKernel(1).Evaluate(Matrix.FromRows([1f, 2f, 3f]), Matrix.FromRows([4f, -5f, 6f]));
        Assert.Equal(12f, lin[0, 0]);
        // Diagonal(x) is the float64 recursion (with the reference's ε clipping).
        Assert.Equal(1.99999955, new NtkReluKernel(2).Diagonal([1f, 0f]), 6); // the oracle is given to 9 digits
        Assert.Equal(2 * (5 + 0.25), new NtkReluKernel(2, bias: 0.5).Diagonal([1f, 2f]), 5);
    }

    [Fact]
    public void SpecOracleMahalanobisO1()
    {
        var xc = Matrix.FromRows([0f, 0f], [1f, 0f], [0f, 2f]);
        var m = Matrix.FromRows([2f, 0.5f], [0.5f, 1f]);
        var k = new MahalanobisLaplaceKernel(1.5, m).Evaluate(Matrix.FromRows([0.3f, -0.4f]), xc);
        double[] expected = [0.731473428, 0.451840960, 0.218023021];
        for (int j = 0; j < 3; j++) Assert.Equal(expected[j], k[0, j], 6);
    }

    [Fact]
    public void KernelOfBAndAIsTheTranspose()
    {
        foreach (var kernel in AllKernels(12))
        {
            var a = Reference.Random(23, 12, 1);
            var b = Reference.Random(41, 12, 2);
            var kab = kernel.Evaluate(a, b);
            var kba = kernel.Evaluate(b, a);
            for (int i = 0; i < 23; i++)
                for (int j = 0; j < 41; j++)
                    Assert.True(Math.Abs(kab[i, j] - kba[j, i]) <= 1e-5 * Math.Max(1, Math.Abs(kab[i, j])), $"{kernel} ({i},{j})");
        }
    }

    [Fact]
    public void IdenticalRowsGiveExactlyOneEvenWhereTheGemmIdentityCancels()
    {
        // Large-norm rows (pixels 0..255, d = 3072) make ‖a‖² + ‖b‖² − 2⟨a,b⟩ round far from 0 in float32.
        var rows = Reference.Random(6, 3072, 8, 60f);
        for (int i = 0; i < rows.Data.Length; i++) rows.Data[i] = MathF.Abs(rows.Data[i]) + 100f;
        var withDuplicates = new Matrix(9, 3072);
        for (int i = 0; i < 9; i++) rows.Row(i % 6).CopyTo(withDuplicates.Row(i));
        foreach (Kernel kernel in new Kernel[] { new LaplaceKernel(10), new GaussianKernel(10), new MahalanobisLaplaceKernel(10, Enumerable.Repeat(1f, 3072).ToArray()) })
        {
            var k = kernel.Evaluate(withDuplicates, withDuplicates);
            for (int i = 0; i < 9; i++)
                for (int j = 0; j < 9; j++)
                    if (i % 6 == j % 6) Assert.Equal(1f, k[i, j]);
                    else Assert.True(k[i, j] < 1f);
        }
        // A full, rank-deficient M on 768 of the columns: S·x is the same for equal rows, whatever their position.
        var part = withDuplicates.View.Block(0, 0, 9, 768).ToMatrix();
        foreach (Kernel kernel in new Kernel[] { new MahalanobisLaplaceKernel(10, RankDeficient(768, 40, 5)), new MahalanobisGaussianKernel(1000, RankDeficient(768, 40, 6)) })
        {
            var k = kernel.Evaluate(part, part);
            for (int i = 0; i < 9; i++)
                for (int j = 0; j < 9; j++)
                    if (i % 6 == j % 6) Assert.Equal(1f, k[i, j]);
                    else Assert.True(k[i, j] < 1f);
        }
        // O8: Mahalanobis with a full M, x = z.
        var x = Matrix.FromRows([1e3f, -2e3f, 3.3e3f]);
        var mFull = Matrix.FromRows([2f, 0.5f, 0f], [0.5f, 1f, 0.1f], [0f, 0.1f, 3f]);
        Assert.Equal(1f, new MahalanobisLaplaceKernel(1, mFull).Evaluate(x, x)[0, 0]);
    }

    [Fact]
    public void NearDuplicatesGetAccurateDistances()
    {
        // Two points 1e-3 apart at norm ~ 1e3: the GEMM identity alone would lose every digit of the distance.
        var a = Matrix.FromRows(Enumerable.Range(0, 64).Select(i => 100f + i).ToArray());
        var b = a.Clone();
        b[0, 5] += 1e-3f * 64;
        float exactDist = b[0, 5] - a[0, 5];
        var k = new LaplaceKernel(1e-2).Evaluate(a, b);
        Assert.Equal(Math.Exp(-exactDist / 1e-2), k[0, 0], 5);
    }

    [Fact]
    public void NtkIsHomogeneousAndHandlesZeroRows()
    {
        var x = Reference.Random(5, 9, 3);
        var x2 = x.Clone();
        System.Numerics.Tensors.TensorPrimitives.Multiply(x2.AsSpan(), 2f, x2.AsSpan());
        var z = Reference.Random(7, 9, 4);
        foreach (int depth in new[] { 1, 2, 5 })
        {
            var kernel = new NtkReluKernel(depth);
            var k1 = kernel.Evaluate(x, z);
            var k2 = kernel.Evaluate(x2, z);
            for (int i = 0; i < k1.Data.Length; i++)
                Assert.True(Math.Abs(k2.Data[i] - 2 * k1.Data[i]) <= 1e-5 * (1 + Math.Abs(k1.Data[i])), $"depth {depth}");
        }
        // A zero row has norm floored at ε: finite values, k(0, z) = b²·(1 + …) from the bias only.
        var zero = new Matrix(1, 9);
        var kz = new NtkReluKernel(3, bias: 0.5).Evaluate(zero, z);
        Assert.All(kz.Data, v => Assert.True(float.IsFinite(v)));
        // Unit-sphere variant agrees with the general one on unit vectors.
        Normalize(x);
        Normalize(z);
        var general = new NtkReluKernel(3, 0.2).Evaluate(x, z);
        var sphere = new NtkReluKernel(3, 0.2, unitSphere: true).Evaluate(x, z);
        for (int i = 0; i < general.Data.Length; i++) Assert.Equal(general.Data[i], sphere.Data[i], 4);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public unsafe void VectorisedExpIsAccurateOnEveryPath(SimdPath path)
    {
        // The kernels' fused tail: min(exp(s·t), 1) over a sweep of [−87, 0] (the Laplace/Gaussian exponents) with
        // lengths that hit every width's body and tail; relative error within 4 ulp of float32, exp(0) exactly 1.
        for (int n = 0; n <= 67; n += 3)
        {
            var t = Enumerable.Range(0, n).Select(i => n == 1 ? 0f : 87f * i / (n - 1)).ToArray();
            var r = (float[])t.Clone();
            DistanceTail.Profile(path, r, -1f, ofDistance: false);
            for (int i = 0; i < n; i++)
            {
                double exact = Math.Exp(-t[i]);
                Assert.True(Math.Abs(r[i] - exact) <= 4 * 6e-8 * exact, $"{path} exp({-t[i]}) = {r[i]} vs {exact}");
            }
            if (n > 0) Assert.Equal(1f, r[0]);
        }
        // Large distances: a tiny positive value, never NaN, Inf or negative.
        var far = new float[] { 1e4f, 1e30f, float.MaxValue, 0f };
        DistanceTail.Profile(path, far, -1f, ofDistance: true);
        Assert.All(far.Take(3), v => Assert.True(v >= 0 && v < 1e-37, $"{path}: {v}"));
        Assert.Equal(1f, far[3]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void VectorisedArcCosineIsAccurateOnEveryPath(SimdPath path)
    {
        // Every length 0..67 hits each vector width's body and tail; values sweep [−1, 1] including both ends.
        for (int n = 0; n <= 67; n++)
        {
            var x = Enumerable.Range(0, n).Select(i => n == 1 ? 1f : -1f + 2f * i / (n - 1)).ToArray();
            var r = new float[n];
            ArcCosineRecursion.AcosSpan(path, x, r);
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(r[i] - Math.Acos(x[i])) <= 5e-7, $"{path} acos({x[i]}) = {r[i]} vs {Math.Acos(x[i])}");
        }
    }

    [Fact]
    public void FusedProductEqualsExplicitProductAcrossBlocks()
    {
        var a = Reference.Random(150, 20, 1);
        var b = Reference.Random(230, 20, 2);
        foreach (int outputs in new[] { 3, 10 })   // a partial and whole groups of four outputs in the fused product
        foreach (var kernel in AllKernels(20))
        {
            var w = Reference.Random(230, outputs, 3);
            var explicitK = kernel.Evaluate(a, b);
            var expected = Gemm.Multiply(explicitK, w);
            // A budget of 64 rows × 40 columns forces blocking in both directions (with ragged last blocks).
            foreach (var budget in new[] { new MemoryBudget(64 * 40 * 4), new MemoryBudget(1 << 26) })
            {
                var output = new Matrix(150, outputs);
                output.AsSpan().Fill(float.NaN);
                kernel.Multiply(kernel.Prepare(a), kernel.Prepare(b), w, output, budget);
                for (int i = 0; i < expected.Data.Length; i++)
                    Assert.True(Math.Abs(output.Data[i] - expected.Data[i]) <= 1e-4 * (1 + Math.Abs(expected.Data[i])), $"{kernel} budget {budget}");
            }
            // accumulate: adds to what is there.
            var acc = expected.Clone();
            kernel.Multiply(kernel.Prepare(a), kernel.Prepare(b), w, acc, accumulate: true);
            for (int i = 0; i < expected.Data.Length; i++)
                Assert.True(Math.Abs(acc.Data[i] - 2 * expected.Data[i]) <= 1e-4 * (1 + Math.Abs(2 * expected.Data[i])), $"{kernel} accumulate");
        }
    }

    [Fact]
    public void BlockShapeRespectsTheBudget()
    {
        var (r, c) = Kernel.BlockShape(60000, 60000, new MemoryBudget(256L << 20));
        Assert.True(4L * r * c <= 256L << 20);
        Assert.Equal(2048, r);                       // a GEMM's worth of rows, as many columns as fit
        (r, c) = Kernel.BlockShape(2000, 5000, new MemoryBudget(1L << 30));
        Assert.Equal((2000, 5000), (r, c));          // everything fits: one block
        (r, c) = Kernel.BlockShape(1000, 10_000_000, new MemoryBudget(64L << 20));
        Assert.True(4L * r * c <= 64L << 20 && r == 1000, $"({r}, {c})");   // all rows, a column slice
        Assert.Throws<MemoryBudgetExceededException>(() => Kernel.BlockShape(1000, 1000, new MemoryBudget(100)));
        (r, c) = Kernel.BlockShape(1_000_000, 60000, new MemoryBudget(64L << 30));
        Assert.True(4L * r * c <= Kernel.MaxBlockBytes, "one block is capped whatever the budget");
    }

    [Fact]
    public void RealCifarRowsMatchFloat64Reference()
    {
        var x = Reference.CifarRows(60);
        var a = new Matrix(20, 3072, x.Data[..(20 * 3072)]);
        var b = new Matrix(40, 3072, x.Data[(20 * 3072)..]);
        foreach (Kernel kernel in new Kernel[] { new LaplaceKernel(20), new GaussianKernel(10), new NtkReluKernel(2), new NtkReluKernel(3, 0.1) })
            AssertMatchesReference(kernel, a, b, SimdCapabilities.Best);
        // K(X, X) of real images: unit diagonal for Laplace.
        var kxx = new LaplaceKernel(20).Evaluate(x, x);
        for (int i = 0; i < 60; i++) Assert.Equal(1f, kxx[i, i]);
    }

    [Fact]
    public void BadInputGivesClearErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => new LaplaceKernel(0));
        Assert.Equal("bandwidth", e.ParamName);
        Assert.Throws<ArgumentException>(() => new GaussianKernel(double.NaN));
        Assert.Throws<ArgumentException>(() => new LaplaceKernel(-1));
        e = Assert.Throws<ArgumentException>(() => new NtkReluKernel(0));
        Assert.Equal("depth", e.ParamName);
        Assert.Contains("found 0", e.Message);
        Assert.Throws<ArgumentException>(() => new NtkReluKernel(2, double.PositiveInfinity));
        e = Assert.Throws<ArgumentException>(() => new MahalanobisLaplaceKernel(1, Matrix.FromRows([1f, 2f], [0f, 1f])));
        Assert.Contains("symmetric", e.Message);
        Assert.Throws<ArgumentException>(() => new MahalanobisLaplaceKernel(1, new Matrix(2, 3)));
        Assert.Throws<ArgumentException>(() => new MahalanobisLaplaceKernel(1, new float[] { 1f, -1f }));

        var kernel = new LaplaceKernel(1);
        var bad = Reference.Random(4, 3, 1);
        bad[2, 1] = float.NaN;
        e = Assert.Throws<ArgumentException>(() => kernel.Prepare(bad, "x"));
        Assert.Contains("at (2, 1) of shape (4, 3)", e.Message);   // coordinates of the caller's matrix
        Assert.Contains("NaN", e.Message);
        Assert.Equal("x", e.ParamName);
        var wide = Reference.Random(300, 5, 2);                      // rows past the first thread's share
        wide[271, 4] = float.NegativeInfinity;
        e = Assert.Throws<ArgumentException>(() => kernel.Prepare(wide, "x"));
        Assert.Contains("at (271, 4) of shape (300, 5)", e.Message);
        bad[2, 1] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => kernel.Prepare(bad));
        e = Assert.Throws<ArgumentException>(() => kernel.Evaluate(Reference.Random(3, 4, 1), Reference.Random(3, 5, 2)));
        Assert.Equal("b", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => kernel.Evaluate(kernel.Prepare(Reference.Random(3, 4, 1)), kernel.Prepare(Reference.Random(2, 4, 1)), new Matrix(3, 3)));
        Assert.Equal("output", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => kernel.Evaluate(new GaussianKernel(1).Prepare(Reference.Random(3, 4, 1)), kernel.Prepare(Reference.Random(2, 4, 1)), new Matrix(3, 2)));
        Assert.Contains("prepared for", e.Message);
        e = Assert.Throws<ArgumentException>(() => new MahalanobisLaplaceKernel(1, new float[] { 1f, 1f }).Prepare(Reference.Random(2, 3, 1)));
        Assert.Contains("expects 2 features", e.Message);
    }
}
