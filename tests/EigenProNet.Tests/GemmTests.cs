using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class GemmTests
{
    public static TheoryData<SimdPath> Paths()
    {
        var d = new TheoryData<SimdPath>();
        foreach (var p in SimdCapabilities.Supported) d.Add(p);
        return d;
    }

    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 7, 3), (7, 1, 33), (7, 33, 1), (13, 33, 7), (33, 7, 1000), (64, 64, 64),
        (100, 257, 33), (12, 32, 385), (25, 65, 770), (1030, 40, 20), (40, 1030, 20),
    ];

    /// <summary>
    /// Float32 error model: each entry is a k-term dot product accumulated with FMAs plus α/β scaling, so
    /// |computed − exact| ≤ (k + 2)·u·(|α|·Σ|a||b| + |β c|). Tests allow twice that, plus a denormal floor.
    /// </summary>
    private static void AssertClose(double[,] exact, double[,] magnitude, MatrixView c, int k, string context)
    {
        for (int i = 0; i < c.Rows; i++)
            for (int j = 0; j < c.Columns; j++)
            {
                double tol = 2 * (k + 2) * Reference.U * magnitude[i, j] + 1e-30;
                double err = Math.Abs(c[i, j] - exact[i, j]);
                // The message only on failure: formatting it for each of a million elements took seconds.
                if (!(err <= tol)) Assert.Fail($"{context}: C[{i},{j}] = {c[i, j]}, exact {exact[i, j]}, error {err:E2} > {tol:E2}");
            }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MatchesFloat64ReferenceOnAllShapesTransposesAndScalars(SimdPath path)
    {
        int seed = 1;
        foreach (var (m, n, k) in Shapes)
            foreach (var ta in new[] { Transpose.No, Transpose.Yes })
                foreach (var tb in new[] { Transpose.No, Transpose.Yes })
                    foreach (var (alpha, beta) in new[] { (1f, 0f), (-2f, 1f), (0.5f, -0.75f) })
                        foreach (int threads in new[] { 1, 2 })
                        {
                            var a = ta == Transpose.No ? Reference.Random(m, k, seed++) : Reference.Random(k, m, seed++);
                            var b = tb == Transpose.No ? Reference.Random(k, n, seed++) : Reference.Random(n, k, seed++);
                            var c = Reference.Random(m, n, seed++);
                            var (exact, mag) = Reference.Gemm(ta, tb, alpha, a, b, beta, c);
                            Gemm.Compute(ta, tb, alpha, a, b, beta, c, Reference.Context(path, threads));
                            AssertClose(exact, mag, c, k, $"{path} ({m},{n},{k}) {ta}/{tb} α={alpha} β={beta} t={threads}");
                        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void TwoThreadProductsWithRaggedBlocksMatchTheReference(SimdPath path)
    {
        // Large enough for two threads: N is cut into near-equal blocks of whole panels (1001 = 31 panels and a ragged
        // one), A is packed by register transposes and double-buffered across K slabs (k = 700: two or more slabs).
        foreach (var (ta, tb) in new[] { (Transpose.No, Transpose.No), (Transpose.No, Transpose.Yes), (Transpose.Yes, Transpose.Yes) })
        {
            const int m = 131, n = 1001, k = 700;
            var a = ta == Transpose.No ? Reference.Random(m, k, 21) : Reference.Random(k, m, 21);
            var b = tb == Transpose.No ? Reference.Random(k, n, 22) : Reference.Random(n, k, 22);
            var c = Reference.Random(m, n, 23);
            var (exact, mag) = Reference.Gemm(ta, tb, 1.5, a, b, 0.5, c);
            Gemm.Compute(ta, tb, 1.5f, a, b, 0.5f, c, Reference.Context(path, 2));
            AssertClose(exact, mag, c, k, $"{path} {ta}/{tb}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void WorksOnStridedViewsAndLeavesTheRestUntouched(SimdPath path)
    {
        var bigA = Reference.Random(50, 60, 11);
        var bigB = Reference.Random(70, 80, 12);
        var bigC = Reference.Random(40, 90, 13);
        var before = bigC.Clone();
        var a = bigA.View.Block(3, 5, 21, 37);   // 21 × 37
        var b = bigB.View.Block(10, 2, 37, 45);  // 37 × 45
        var c = bigC.View.Block(7, 11, 21, 45);
        var (exact, mag) = Reference.Gemm(Transpose.No, Transpose.No, 1.5, a, b, 0.25, c);
        Gemm.Compute(Transpose.No, Transpose.No, 1.5f, a, b, 0.25f, c, Reference.Context(path, 2));
        AssertClose(exact, mag, c, 37, "view");
        for (int i = 0; i < 40; i++)
            for (int j = 0; j < 90; j++)
                if (i < 7 || i >= 28 || j < 11 || j >= 56)
                    Assert.Equal(before[i, j], bigC[i, j]);
    }

    [Fact]
    public void LargeProductMatchesReferenceOnSampledEntries()
    {
        // 1000+ in every dimension exercises several MC/KC/NC blocks and both threads.
        int m = 1100, n = 1050, k = 1030;
        var a = Reference.Random(m, k, 21);
        var b = Reference.Random(k, n, 22);
        var c = new Matrix(m, n);
        Gemm.Compute(Transpose.No, Transpose.No, 1f, a, b, 0f, c);
        var rng = new Random(5);
        for (int t = 0; t < 400; t++)
        {
            int i = rng.Next(m), j = rng.Next(n);
            double s = 0, mag = 0;
            for (int p = 0; p < k; p++) { double x = (double)a[i, p] * b[p, j]; s += x; mag += Math.Abs(x); }
            Assert.True(Math.Abs(c[i, j] - s) <= 2 * (k + 2) * Reference.U * mag, $"C[{i},{j}] = {c[i, j]} vs {s}");
        }
    }

    [Fact]
    public void BetaZeroDoesNotReadC()
    {
        var a = Reference.Random(9, 5, 1);
        var b = Reference.Random(5, 40, 2);
        var c = new Matrix(9, 40);
        c.AsSpan().Fill(float.NaN);
        Gemm.Compute(Transpose.No, Transpose.No, 1f, a, b, 0f, c);
        Assert.All(c.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void ZeroDepthOrZeroAlphaScalesC()
    {
        var c = Reference.Random(4, 6, 3);
        var expected = c.Data.Select(v => v * 0.5f).ToArray();
        Gemm.Compute(Transpose.No, Transpose.No, 1f, new Matrix(4, 0), new Matrix(0, 6), 0.5f, c);
        Assert.Equal(expected, c.Data);
        Gemm.Compute(Transpose.No, Transpose.No, 0f, Reference.Random(4, 3, 1), Reference.Random(3, 6, 2), 0f, c);
        Assert.All(c.Data, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ZerosAndIllConditionedInputsStayExact()
    {
        // Products of exactly representable small integers are exact in float32 regardless of order.
        var a = new Matrix(30, 40);
        var b = new Matrix(40, 50);
        var rng = new Random(9);
        for (int i = 0; i < a.Data.Length; i++) a.Data[i] = rng.Next(-3, 4);
        for (int i = 0; i < b.Data.Length; i++) b.Data[i] = rng.Next(-3, 4);
        var c = Gemm.Multiply(a, b);
        var (exact, _) = Reference.Gemm(Transpose.No, Transpose.No, 1, a, b, 0, c);
        for (int i = 0; i < 30; i++) for (int j = 0; j < 50; j++) Assert.Equal(exact[i, j], c[i, j]);
        // Rows of wildly different scale (1e-20 … 1e20) keep their relative accuracy.
        var s = Reference.Random(20, 30, 4);
        for (int i = 0; i < 20; i++) System.Numerics.Tensors.TensorPrimitives.Multiply(s.Row(i), MathF.Pow(10, -20 + 2 * i), s.Row(i));
        var t = Reference.Random(30, 10, 5);
        var r = Gemm.Multiply(s, t);
        var (ex2, mag2) = Reference.Gemm(Transpose.No, Transpose.No, 1, s, t, 0, r);
        AssertClose(ex2, mag2, r, 30, "scaled rows");
    }

    [Fact]
    public void RejectsNonConformingShapesNamingTheArgument()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.Compute(Transpose.No, Transpose.No, 1f, new Matrix(3, 4), new Matrix(5, 6), 0f, new Matrix(3, 6)));
        Assert.Equal("b", e.ParamName);
        Assert.Contains("(3, 4)", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            Gemm.Compute(Transpose.No, Transpose.No, 1f, new Matrix(3, 4), new Matrix(4, 6), 0f, new Matrix(3, 5)));
        Assert.Equal("c", e.ParamName);
        Assert.Contains("(3, 6)", e.Message);
        var shared = new Matrix(8, 8);
        e = Assert.Throws<ArgumentException>(() =>
            Gemm.Compute(Transpose.No, Transpose.No, 1f, shared.View.Block(0, 0, 4, 4), new Matrix(4, 4), 0f, shared.View.Block(2, 2, 4, 4)));
        Assert.Equal("c", e.ParamName);
        // Disjoint blocks of one matrix are fine (the Cholesky trailing update does this).
        Gemm.Compute(Transpose.No, Transpose.No, 1f, shared.View.Block(0, 0, 4, 4), new Matrix(4, 4), 0f, shared.View.Block(4, 4, 4, 4));
        Gemm.Compute(Transpose.No, Transpose.No, 1f, shared.View.Block(4, 0, 4, 4), new Matrix(4, 4), 0f, shared.View.Block(0, 4, 4, 4));
        // A view that wraps past a row end (offset 6, 4 columns, stride 8) reaches row 1, columns 0–1.
        var wrapping = new MatrixView(shared.Data, 6, 2, 4, 8);
        e = Assert.Throws<ArgumentException>(() =>
            Gemm.Compute(Transpose.No, Transpose.No, 1f, shared.View.Block(1, 0, 2, 2), new Matrix(2, 4), 0f, wrapping));
        Assert.Equal("c", e.ParamName);
        Assert.Throws<ArgumentException>(() =>
            Gemm.Compute(Transpose.No, Transpose.No, float.NaN, new Matrix(2, 2), new Matrix(2, 2), 0f, new Matrix(2, 2)));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SymmetricRankKMatchesReferenceAndIsExactlySymmetric(SimdPath path)
    {
        // The last two run on two threads: rows in groups dealt one at a time, over several B blocks and (1200 > MC)
        // row blocks.
        foreach (var (n, k) in new[] { (1, 3), (7, 5), (45, 33), (130, 70), (400, 150), (1200, 16) })
            foreach (var trans in new[] { Transpose.No, Transpose.Yes })
            {
                var a = trans == Transpose.No ? Reference.Random(n, k, n + k) : Reference.Random(k, n, n * k);
                var c = Reference.Random(n, n, 3);
                for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) c[j, i] = c[i, j];
                var other = trans == Transpose.No ? Transpose.Yes : Transpose.No;
                var (exact, mag) = Reference.Gemm(trans, other, -1.5, a, a, 0.5, c);
                Gemm.SymmetricRankK(trans, -1.5f, a, 0.5f, c, Reference.Context(path, 2));
                AssertClose(exact, mag, c, k, $"syrk {path} n={n} k={k} {trans}");
                int asymmetric = 0;
                for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) if (c[i, j] != c[j, i]) asymmetric++;
                Assert.True(asymmetric == 0, $"syrk {path} n={n} k={k} {trans}: {asymmetric} mirrored pairs differ");
            }
    }

    public static TheoryData<long, long> Caches() => new() { { 32 << 10, 512 << 10 }, { 48 << 10, 2 << 20 }, { 8 << 10, 128 << 10 } };

    [Theory]
    [MemberData(nameof(Caches))]
    public void BlockingFollowsTheCachesAndStaysCorrect(long l1, long l2)
    {
        // The blocking a CPU with these caches would get: within its budgets, multiples of the register tile, and
        // (with many KC slabs and NC blocks at the small sizes) still the exact product on every path.
        var caches = new CacheSizes(l1, l2);
        foreach (var path in SimdCapabilities.Supported)
        {
            var k = GemmKernel<float>.Create(path, caches);
            Assert.True(k.MR * k.KC * 4L <= l1 / 2 || k.KC == 64, $"{path} {k}: A micro-panel exceeds half of L1");
            Assert.True(k.KC * (long)k.NC * 4 <= l2 * 2 / 5 || k.NC == k.NR, $"{path} {k}: B block exceeds 40% of L2");
            Assert.Equal(0, k.MC % k.MR);
            Assert.Equal(0, k.NC % k.NR);
            var a = Reference.Random(150, 700, 1);
            var b = Reference.Random(230, 700, 2);
            var c = Reference.Random(150, 230, 3);
            var (exact, mag) = Reference.Gemm(Transpose.No, Transpose.Yes, 1, a, b, 0.5, c);
            GemmDriver<float>.Run(Transpose.No, Transpose.Yes, 1f, Operand(a), Operand(b), 0.5f, Operand(c), Reference.Context(path, 2), Triangle.Full, k);
            AssertClose(exact, mag, c, 700, $"{path} {k}");
        }
        Assert.True(GemmKernel<double>.Create(SimdPath.Scalar, caches).KC >= 64);
    }

    private static GemmOperand<float> Operand(Matrix m) => new(m.Data, 0, m.Rows, m.Columns, m.Columns);

    [Fact]
    public void CacheSizesParseTheKernelsNotation()
    {
        Assert.Equal(32L << 10, CacheSizes.ParseSize("32K"));
        Assert.Equal(1L << 20, CacheSizes.ParseSize("1024K"));
        Assert.Equal(32L << 20, CacheSizes.ParseSize("32M"));
        Assert.True(CacheSizes.Current.L1Data >= 8 << 10 && CacheSizes.Current.L2 >= 128 << 10);
    }

    [Fact]
    public void ComputeContextsAreValidatedAndIndependent()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ComputeContext(0));
        Assert.Equal("threads", e.ParamName);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new ComputeContext(Environment.ProcessorCount + 1));
        Assert.Contains($"1 to {Environment.ProcessorCount} threads", e.Message);
        if (SimdCapabilities.Best < SimdPath.Vector512)
            Assert.Throws<PlatformNotSupportedException>(() => new ComputeContext(1, SimdPath.Vector512));
        // Two products with different settings at the same time: neither changes the other or the default.
        var a = Reference.Random(300, 200, 4);
        var b = Reference.Random(200, 250, 5);
        var one = new ComputeContext(1, SimdPath.Scalar);
        var all = ComputeContext.Default;
        Matrix? c1 = null, c2 = null;
        Parallel.Invoke(() => c1 = Gemm.Multiply(a, b, context: one), () => c2 = Gemm.Multiply(a, b, context: all));
        Assert.Equal(Environment.ProcessorCount, ComputeContext.Default.Threads);
        Assert.Equal(SimdCapabilities.Best, ComputeContext.Default.Path);
        var (exact, mag) = Reference.Gemm(Transpose.No, Transpose.No, 1, a, b, 0, new Matrix(300, 250));
        AssertClose(exact, mag, c1!, 200, "scalar, 1 thread");
        AssertClose(exact, mag, c2!, 200, "default");
    }

    [Fact]
    public void ManyConcurrentProductsCompleteAndAgree()
    {
        // More multi-threaded products at once than there are cores: the thread pool cannot start every worker of
        // every product together. Workers claim work rather than wait for each other, so all finish, identically.
        var a = Reference.Random(300, 400, 21);
        var b = Reference.Random(400, 350, 22);
        var (exact, mag) = Reference.Gemm(Transpose.No, Transpose.No, 1, a, b, 0, new Matrix(300, 350));
        var results = new Matrix[12];
        var context = Reference.Context(SimdCapabilities.Best, 2);
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i => results[i] = Gemm.Multiply(a, b, context: context));
        AssertClose(exact, mag, results[0], 400, "concurrent");
        foreach (var r in results) Assert.Equal(results[0].Data, r.Data);
    }
}
