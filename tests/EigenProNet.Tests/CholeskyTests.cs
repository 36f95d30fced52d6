using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class CholeskyTests
{
    [Fact]
    public void FactorReproducesTheMatrixAcrossBlockBoundaries()
    {
        foreach (int n in new[] { 1, 2, 7, 127, 128, 129, 300 })
        {
            var g = Reference.Random(n, n + 5, n);
            var a = Gemm.Multiply(g, g, Transpose.No, Transpose.Yes);
            for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) a[i, j] = a[j, i];
            var f = Cholesky.Factor(a);
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
}
