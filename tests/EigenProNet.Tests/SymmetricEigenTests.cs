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
}
