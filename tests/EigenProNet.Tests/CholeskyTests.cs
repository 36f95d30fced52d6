using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class CholeskyTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FactorReproducesTheMatrixAcrossBlockBoundaries(bool inPlace)
    {
        // Sizes on and beside the recursion's leaves (64 columns factored directly, 32-column solve leaves) and halves.
        foreach (int n in new[] { 1, 2, 7, 31, 32, 33, 64, 65, 97, 127, 128, 129, 300, 513 })
        {
            var g = Reference.Random(n, n + 5, n);
            var a = Gemm.Multiply(g, g, Transpose.No, Transpose.Yes);
            for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) a[i, j] = a[j, i];
            var f = inPlace ? Cholesky.FactorInPlace(a.Clone()) : Cholesky.Factor(a);
            Assert.Equal(0, f.Jitter);
            var llt = Gemm.Multiply(f.Lower, f.Lower, Transpose.No, Transpose.Yes);
            double scale = a.Data.Max(v => Math.Abs(v));
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    Assert.True(Math.Abs(llt[i, j] - a[i, j]) <= 4 * (n + 2) * Reference.U * scale, $"n={n} ({i},{j})");
                    if (j > i) Assert.Equal(0f, f.Lower[i, j]);
                }
        }
    }

    [Fact]
    public void FactorIsTheSameOnOneThreadAndOnSeveral()
    {
        // n = 900: the triangular solves split their rows between the threads and the rank-k updates deal row groups;
        // every element still sums in the same order, so the factors agree bit for bit (and the 32-column leaves of
        // the solve, applied in place by rows of four, see ragged groups at the split).
        const int n = 900;
        var g = Reference.Random(n, n + 20, 11);
        var a = Gemm.Multiply(g, g, Transpose.No, Transpose.Yes);
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) a[i, j] = a[j, i];
        foreach (var path in SimdCapabilities.Supported)
        {
            var serial = Cholesky.Factor(a, context: Reference.Context(path, 1)).Lower;
            var parallel = Cholesky.Factor(a, context: Reference.Context(path, 2)).Lower;
            Assert.Equal(serial.Data, parallel.Data);
            var llt = Gemm.Multiply(parallel, parallel, Transpose.No, Transpose.Yes);
            double scale = a.Data.Max(v => Math.Abs(v)), worst = 0;
            for (long i = 0; i < a.Data.Length; i++) worst = Math.Max(worst, Math.Abs(llt.Data[i] - a.Data[i]));
            Assert.True(worst <= 4 * (n + 2) * Reference.U * scale, $"{path}: |LLᵀ − A| = {worst:E2}");
        }
    }

    [Fact]
    public void SolvesKernelRidgeSystemsOfRealImages()
    {
        // (K + λI)·X = Y for a Laplace kernel of 400 CIFAR-10 images, 10 right-hand sides.
        var x = Reference.CifarRows(400);
        var k = new LaplaceKernel(20).Evaluate(x, x);
        for (int i = 0; i < 400; i++) k[i, i] += 1e-3f;
        var y = Reference.Random(400, 10, 3);
        var sol = Cholesky.Factor(k).Solve(y);
        var r = Gemm.Multiply(k, sol);
        double err = 0, norm = 0;
        for (int i = 0; i < r.Data.Length; i++) { err += Math.Pow(r.Data[i] - y.Data[i], 2); norm += Math.Pow(y.Data[i], 2); }
        // Backward-stable factorisation: relative residual ~ n·u·cond-independent; allow 1e-3.
        Assert.True(Math.Sqrt(err / norm) < 1e-3, $"relative residual {Math.Sqrt(err / norm):E2}");
    }

    [Fact]
    public void RetriesWithReportedJitterThenFailsClearly()
    {
        // Rank-deficient PSD (duplicate points): not positive definite without jitter.
        var x = Matrix.FromRows([0f, 1f], [0f, 1f], [2f, 0f]);
        var k = new GaussianKernel(1).Evaluate(x, x);
        var f = Cholesky.Factor(k);
        Assert.True(f.Jitter > 0);
        var strict = Assert.Throws<NotPositiveDefiniteException>(() => Cholesky.Factor(k, maxJitterAttempts: 0));
        Assert.Contains("pivot 2 of 3", strict.Message);
        var indefinite = Matrix.FromRows([1f, 0f], [0f, -5f]);
        var e = Assert.Throws<NotPositiveDefiniteException>(() => Cholesky.Factor(indefinite, 2));
        Assert.Contains("jitter", e.Message);
        Assert.Throws<ArgumentException>(() => Cholesky.Factor(new Matrix(2, 3)));
        Assert.Throws<ArgumentException>(() => f.Solve(new Matrix(2, 1)));
    }

    [Fact]
    public void IllConditionedKernelMatricesFactorBackwardStably()
    {
        // A Laplace kernel of 600 real images with a tiny ridge (condition number ~1e6): the factor must reproduce A
        // to the float32 backward-error bound whatever the conditioning, as LAPACK's spotrf does.
        var x = Reference.CifarRows(600);
        var k = new LaplaceKernel(20).Evaluate(x, x);
        for (int i = 0; i < 600; i++) k[i, i] += 1e-6f;
        var f = Cholesky.FactorInPlace(k.Clone());
        var llt = Gemm.Multiply(f.Lower, f.Lower, Transpose.No, Transpose.Yes);
        double worst = 0;
        for (int i = 0; i < 600; i++)
            for (int j = 0; j <= i; j++)
            {
                // |LLᵀ − A|_ij ≤ c·n·u·(|L||L|ᵀ)_ij ≤ c·n·u·sqrt(a_ii·a_jj) for a backward-stable factorisation.
                double bound = Math.Sqrt((double)k[i, i] * k[j, j]);
                worst = Math.Max(worst, Math.Abs(llt[i, j] - k[i, j]) / bound);
            }
        Assert.True(worst <= 4 * 602 * Reference.U, $"worst scaled residual {worst:E2}");
    }

    [Fact]
    public void FactorInPlaceSharesTheStorageAndRejectsWhatItCannotFactor()
    {
        var g = Reference.Random(90, 100, 4);
        var a = Gemm.Multiply(g, g, Transpose.No, Transpose.Yes);
        for (int i = 0; i < 90; i++) for (int j = 0; j < i; j++) a[i, j] = a[j, i];
        var copy = Cholesky.Factor(a);
        var inPlace = Cholesky.FactorInPlace(a);
        Assert.Same(a, inPlace.Lower);
        Assert.Equal(0, inPlace.Jitter);
        for (int i = 0; i < 90; i++)
            for (int j = 0; j < 90; j++) Assert.Equal(copy.Lower[i, j], a[i, j]);

        var indefinite = new Matrix(70, 70);
        for (int i = 0; i < 70; i++) indefinite[i, i] = i == 40 ? -1f : 1f;
        var e = Assert.Throws<NotPositiveDefiniteException>(() => Cholesky.FactorInPlace(indefinite));
        Assert.Contains("pivot 41 of 70", e.Message);
        var asymmetric = new Matrix(3, 3);
        asymmetric[2, 0] = 1;
        Assert.Contains("symmetric", Assert.Throws<ArgumentException>(() => Cholesky.FactorInPlace(asymmetric)).Message);
    }
}
