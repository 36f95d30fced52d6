using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class DoubleGemmTests
{
    private static double[] Random(int count, Random rng)
    {
        var x = new double[count];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() * 2 - 1;
        return x;
    }

    /// <summary>
    /// Float64 error model: a k-term FMA dot product plus α/β scaling errs by at most (k + 2)·u·(|α|Σ|a||b| + |βc|),
    /// u = 2⁻⁵³; the test allows twice that.
    /// </summary>
    [Theory]
    [MemberData(nameof(GemmTests.Paths), MemberType = typeof(GemmTests))]
    public void MatchesNaiveProductOnAllShapesTransposesAndTheUpperTriangleMode(SimdPath path)
    {
        var rng = new Random(7);
        (int M, int N, int K)[] shapes = [(1, 1, 1), (5, 3, 2), (13, 17, 300), (40, 40, 7), (97, 97, 257), (300, 33, 64), (33, 400, 20)];
        foreach (var (m, n, k) in shapes)
            foreach (var ta in new[] { Transpose.No, Transpose.Yes })
                foreach (var tb in new[] { Transpose.No, Transpose.Yes })
                    foreach (bool upper in m == n ? new[] { false, true } : new[] { false })
                    {
                        // Embed the operands in wider arrays so strides and offsets are exercised.
                        int ar = ta == Transpose.No ? m : k, ac = ta == Transpose.No ? k : m;
                        int br = tb == Transpose.No ? k : n, bc = tb == Transpose.No ? n : k;
                        var a = new DoubleBlock(Random(ar * (ac + 3) + 2, rng), 2, ar, ac, ac + 3);
                        var b = new DoubleBlock(Random(br * (bc + 1) + 1, rng), 1, br, bc, bc + 1);
                        var c = new DoubleBlock(Random(m * (n + 2), rng), 0, m, n, n + 2);
                        var c0 = (double[])c.Data.Clone();
                        double alpha = -0.75, beta = k % 2 == 0 ? 0 : 0.5;
                        DoubleGemm.Compute(ta, tb, alpha, a, b, beta, c, upper, Reference.Context(path, 2));
                        for (int i = 0; i < m; i++)
                            for (int j = upper ? i : 0; j < n; j++)
                            {
                                double s = 0, mag = 0;
                                for (int p = 0; p < k; p++)
                                {
                                    double x = ta == Transpose.No ? a.Row(i)[p] : a.Row(p)[i];
                                    double y = tb == Transpose.No ? b.Row(p)[j] : b.Row(j)[p];
                                    s += x * y;
                                    mag += Math.Abs(x * y);
                                }
                                double cij = c0[i * (n + 2) + j];
                                double exact = alpha * s + (beta == 0 ? 0 : beta * cij);
                                double tol = 2 * (k + 2) * Math.Pow(2, -53) * (Math.Abs(alpha) * mag + Math.Abs(beta * cij)) + 1e-300;
                                Assert.True(Math.Abs(c.Row(i)[j] - exact) <= tol,
                                    $"{path} {m}x{n}x{k} {ta}{tb} upper={upper}: C[{i},{j}] = {c.Row(i)[j]}, exact {exact}");
                            }
                        // Padding columns beyond n are never written.
                        for (int i = 0; i < m; i++)
                            for (int j = n; j < n + 2; j++) Assert.Equal(c0[i * (n + 2) + j], c.Data[i * (n + 2) + j]);
                    }
    }
}
