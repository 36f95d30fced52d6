using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>A kernel written outside the library, through the public surface only, works with the solvers.</summary>
public class CustomKernelTests
{
    /// <summary>k(a, b) = (⟨a, b⟩/d + 1)²: the GEMM of the rows with its tail fused as the epilogue.</summary>
    private sealed class PolynomialKernel : Kernel
    {
        public override string Name => "poly2";
        public override string ToString() => "Polynomial(degree=2)";
        public override double Diagonal(ReadOnlySpan<float> x)
        {
            double s = 0;
            foreach (float v in x) s += (double)v * v;
            return Math.Pow(s / x.Length + 1, 2);
        }

        protected override void ComputeBlock(KernelRows a, KernelRows b, MatrixView output, ComputeContext context, GemmEpilogue? then)
        {
            void Tail(int worker, int row0, int rows, int col0, int cols)
            {
                for (int i = row0; i < row0 + rows; i++)
                {
                    var row = output.Row(i).Slice(col0, cols);
                    for (int j = 0; j < row.Length; j++) row[j] = (row[j] + 1) * (row[j] + 1);
                }
                then?.Invoke(worker, row0, rows, col0, cols);
            }
            Gemm.Compute(Transpose.No, Transpose.Yes, 1f / a.Dimension, a.Points, b.Points, 0f, output, context, Tail);
        }
    }

    [Fact]
    public void AUserKernelEvaluatesMultipliesAndTrains()
    {
        var kernel = new PolynomialKernel();
        var a = Reference.Random(37, 5, 1);
        var b = Reference.Random(300, 5, 2);
        var k = kernel.Evaluate(a, b);
        for (int i = 0; i < a.Rows; i++)
            for (int j = 0; j < b.Rows; j++)
            {
                double dot = 0;
                for (int p = 0; p < 5; p++) dot += (double)a[i, p] * b[j, p];
                double exact = Math.Pow(dot / 5 + 1, 2);
                Assert.True(Math.Abs(k[i, j] - exact) <= 1e-6 * Math.Max(1, exact), $"K[{i},{j}] = {k[i, j]}, exact {exact}");
            }
        // The fused, blocked product K·W (tiny budget: many blocks) equals the product of the whole matrix.
        var w = Reference.Random(300, 3, 3);
        var fused = new Matrix(37, 3);
        kernel.Multiply(kernel.Prepare(a), kernel.Prepare(b), w, fused, new MemoryBudget(16 << 10));
        var plain = Gemm.Multiply(k, w);
        for (int i = 0; i < fused.Data.Length; i++) Assert.True(Math.Abs(plain.Data[i] - fused.Data[i]) <= 1e-4 * (1 + Math.Abs(plain.Data[i])));

        // EigenPro 2 trains with it: y = x₀² is in the kernel's span.
        var x = Reference.Random(400, 5, 4);
        var y = new Matrix(400, 1);
        for (int i = 0; i < 400; i++) y[i, 0] = x[i, 0] * x[i, 0];
        var result = new EigenPro2(kernel, new EigenPro2Options { Epochs = 20, SubsampleSize = 100 }).Fit(x, y);
        Assert.True(result.Epochs[^1].TrainMse < 0.05 * result.Epochs[0].TrainMse + 1e-3, $"MSE {result.Epochs[0].TrainMse} → {result.Epochs[^1].TrainMse}");
        // A model file cannot describe it, and says so.
        using var dir = new TempDir();
        var e = Assert.Throws<NotSupportedException>(() => result.Model.Save(dir.File("m.epn")));
        Assert.Contains("Polynomial", e.Message);
    }
}

public class KeptColumnsTests
{
    [Fact]
    public void MultiplyHandsOutTheKeptColumnsOfEveryBlock()
    {
        foreach (Kernel kernel in new Kernel[] { new LaplaceKernel(2), new NtkReluKernel(2), new MahalanobisLaplaceKernel(2, Matrix.FromRows([2f, 0.5f, 0f], [0.5f, 1f, 0f], [0f, 0f, 0.3f])) })
        {
            var a = kernel.Prepare(Reference.Random(70, 3, 1));
            var b = kernel.Prepare(Reference.Random(500, 3, 2));
            int[] keep = [499, 3, 0, 250, 17, 251];
            var kept = new Matrix(70, keep.Length);
            var output = new Matrix(70, 2);
            // A small budget: many row and column blocks.
            kernel.Multiply(a, b, Reference.Random(500, 2, 3), output, new MemoryBudget(8 << 10), keepColumns: keep, keptColumns: kept);
            var full = kernel.Evaluate(a.Points, b.Points);
            for (int i = 0; i < 70; i++)
                for (int t = 0; t < keep.Length; t++) Assert.Equal(full[i, keep[t]], kept[i, t], 5);
            Assert.Throws<ArgumentException>(() => kernel.Multiply(a, b, new Matrix(500, 1), new Matrix(70, 1), keepColumns: [3, 3], keptColumns: new Matrix(70, 2)));
            Assert.Throws<ArgumentException>(() => kernel.Multiply(a, b, new Matrix(500, 1), new Matrix(70, 1), keepColumns: [3, 500], keptColumns: new Matrix(70, 2)));
        }
    }
}

public class GramMatrixTests
{
    [Fact]
    public void EvaluateSymmetricIsExactlySymmetricAndTheMeanOfEachPair()
    {
        // An ill-conditioned M (eigenvalues 1e4 … 1e-3) on 300 rows: K(i, j) and K(j, i) come from different GEMM tiles.
        int n = 300, d = 12;
        var r = Matrix.RandomNormal(d, d, 4);
        for (int j = 0; j < d; j++)
        {
            float scale = (float)Math.Pow(10, 2 - 2.5 * j / (d - 1));
            for (int i = 0; i < d; i++) r[i, j] *= scale;
        }
        var m = Gemm.Multiply(r, r, Transpose.No, Transpose.Yes);
        for (int i = 0; i < d; i++) for (int j = 0; j < i; j++) m[i, j] = m[j, i];
        var x = Matrix.RandomNormal(n, d, 5, 0.1f);
        foreach (Kernel kernel in new Kernel[] { new MahalanobisLaplaceKernel(20, m), new LaplaceKernel(2), new NtkReluKernel(2) })
        {
            var rows = kernel.Prepare(x);
            var plain = new Matrix(n, n);
            kernel.Evaluate(rows, rows, plain);
            if (kernel is MahalanobisKernel)   // the case the mean is for: the plain evaluation is not symmetric
                Assert.Contains(Enumerable.Range(0, n), i => Enumerable.Range(0, i).Any(j => plain[i, j] != plain[j, i]));
            var gram = new Matrix(n, n);
            kernel.EvaluateSymmetric(rows, gram);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    Assert.Equal(gram[j, i], gram[i, j]);
                    Assert.Equal(0.5f * (plain[i, j] + plain[j, i]), gram[i, j]);
                }
        }
        var laplace = new LaplaceKernel(2);
        Assert.Equal("output", Assert.Throws<ArgumentException>(() => laplace.EvaluateSymmetric(laplace.Prepare(x), new Matrix(n, n - 1))).ParamName);
    }
}

public class PackedCentersTests
{
    public static TheoryData<SimdPath> Paths()
    {
        var d = new TheoryData<SimdPath>();
        foreach (var p in SimdCapabilities.Supported) d.Add(p);
        return d;
    }

    private static Matrix Evaluate(Kernel kernel, KernelRows a, KernelRows b, ComputeContext context)
    {
        var output = new Matrix(a.Count, b.Count);
        kernel.Evaluate(a, b, output, context);
        return output;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void PackedCentersGiveTheSameProductsBitForBit(SimdPath path)
    {
        // Centers packed once for the GEMM (EigenPro 2's training rows) must change nothing but the time: the same
        // panels, read in place instead of re-packed. Depth 700 is cut into several K slabs; the small budget makes
        // many column blocks (starts on panel boundaries read the packed data, others pack as before); a slice that
        // starts off a boundary, and a context on another path, fall back to packing. 1 200 rows: two row blocks of A.
        var context = new ComputeContext(2, path);
        var mahalanobis = Matrix.RandomNormal(700, 700, 9, 0.02f);
        for (int i = 0; i < 700; i++) mahalanobis[i, i] += 1;
        var spd = Gemm.Multiply(mahalanobis, mahalanobis, Transpose.No, Transpose.Yes);
        foreach (Kernel kernel in new Kernel[] { new LaplaceKernel(20), new NtkReluKernel(2), new MahalanobisLaplaceKernel(20, spd) })
        {
            var a = kernel.Prepare(Matrix.RandomNormal(1200, 700, 1, 0.05f), context: context);
            var plain = kernel.Prepare(Matrix.RandomNormal(1000, 700, 2, 0.05f), context: context);
            var packed = plain.WithPackedFeatures(context);
            Assert.NotNull(packed.PackedFeatures);
            var w = Matrix.RandomNormal(1000, 3, 3);
            foreach (var budget in new[] { MemoryBudget.Default, new MemoryBudget(90 * 4 * 300) })
            {
                var expected = new Matrix(1200, 3);
                var actual = new Matrix(1200, 3);
                kernel.Multiply(a, plain, w, expected, budget, context: context);
                kernel.Multiply(a, packed, w, actual, budget, context: context);
                Assert.Equal(expected.Data, actual.Data);
            }
            foreach (var (start, count) in new[] { (0, 1000), (64, 500), (37, 400), (960, 40) })
            {
                var expected = Evaluate(kernel, a, plain.Slice(start, count), context);
                var actual = Evaluate(kernel, a, packed.Slice(start, count), context);
                Assert.Equal(start % 64 == 0, packed.Slice(start, count).PackedFeatures is not null);
                Assert.Equal(expected.Data, actual.Data);
            }
            if (path != SimdPath.Scalar)
            {
                var other = context.WithPath(SimdPath.Scalar);
                Assert.Equal(Evaluate(kernel, a, plain, other).Data, Evaluate(kernel, a, packed, other).Data);
            }
        }
    }
}
