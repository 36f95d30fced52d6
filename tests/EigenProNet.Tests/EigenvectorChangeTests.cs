using EigenProNet.Dynamics;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

/// <summary>The change metrics of the dynamics design (spec dynamics.md §3) against oracle O7 and constructed angles.</summary>
public class EigenvectorChangeTests
{
    [Fact]
    public void SpecOracleO7PrincipalAngle()
    {
        var e0 = Matrix.FromRows([1f], [0f], [0f]);
        var et = Matrix.FromRows([MathF.Cos(0.3f)], [MathF.Sin(0.3f)], [0f]);
        var angles = EigenvectorChange.PrincipalAngles(e0, et, 1);
        Assert.Equal(0.3, angles[0], 6);
        Assert.Equal(0.955336489, Math.Cos(angles[0]), 6);
        Assert.Equal(0.417928684, EigenvectorChange.ProjectionDistance(e0, et, 1), 6);
    }

    [Fact]
    public void RotationInsideADegenerateEigenspaceIsNoSubspaceChange()
    {
        // S = diag(1, 1, 0.5): any rotation of the first two eigenvectors is an equally valid eigenbasis.
        var e0 = Matrix.FromRows([1f, 0f], [0f, 1f], [0f, 0f]);
        float c = MathF.Cos(1.1f), s = MathF.Sin(1.1f);
        var et = Matrix.FromRows([c, -s], [s, c], [0f, 0f]);
        Assert.True(EigenvectorChange.Overlap(e0, et).All(v => v > 0.5));          // the vectors themselves moved …
        Assert.Equal(0, EigenvectorChange.ProjectionDistance(e0, et, 2), 6);      // … the subspace did not
        Assert.All(EigenvectorChange.PrincipalAngles(e0, et, 2), a => Assert.Equal(0, a, 3));
    }

    /// <summary>Orthonormal columns (float64 Gram–Schmidt of a random matrix).</summary>
    private static double[,] Orthonormal(int rows, int cols, int seed)
    {
        var r = Matrix.RandomNormal(rows, cols, seed);
        var q = new double[rows, cols];
        for (int j = 0; j < cols; j++)
        {
            for (int i = 0; i < rows; i++) q[i, j] = r[i, j];
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < j; p++)
                {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) dot += q[i, p] * q[i, j];
                    for (int i = 0; i < rows; i++) q[i, j] -= dot * q[i, p];
                }
            double norm = 0;
            for (int i = 0; i < rows; i++) norm += q[i, j] * q[i, j];
            for (int i = 0; i < rows; i++) q[i, j] /= Math.Sqrt(norm);
        }
        return q;
    }

    [Fact]
    public void KnownAnglesFromTinyToRightAreRecovered()
    {
        const int s = 300, k = 6;
        double[] theta = [1e-4, 1e-3, 0.05, 0.4, 1.2, Math.PI / 2];
        var q = Orthonormal(s, 2 * k, 3);
        var e0 = new Matrix(s, k);
        var et = new Matrix(s, k);
        for (int j = 0; j < k; j++)
            for (int i = 0; i < s; i++)
            {
                e0[i, j] = (float)q[i, j];
                et[i, j] = (float)(Math.Cos(theta[j]) * q[i, j] + Math.Sin(theta[j]) * q[i, k + j]);
            }
        var angles = EigenvectorChange.PrincipalAngles(e0, et, k);
        for (int j = 0; j < k; j++) Assert.True(Math.Abs(angles[j] - theta[j]) <= 2e-5 + 1e-4 * theta[j], $"θ{j} = {angles[j]}, expected {theta[j]}");
        double expected = Math.Sqrt(2 * theta.Sum(t => Math.Sin(t) * Math.Sin(t)));
        Assert.Equal(expected, EigenvectorChange.ProjectionDistance(e0, et, k), 4);
        // Per-vector overlap: 1 − |cos θ|.
        var overlap = EigenvectorChange.Overlap(e0, et);
        for (int j = 0; j < k; j++) Assert.Equal(1 - Math.Cos(theta[j]), overlap[j], 5);
    }

    [Fact]
    public void SignFlipsChangeNoRobustMetricAndTheConventionFixesTheSumMetric()
    {
        const int s = 200, k = 8;
        var q0 = Orthonormal(s, k, 5);
        var qt = Orthonormal(s, k, 6);
        var e0 = new Matrix(s, k);
        var et = new Matrix(s, k);
        for (int i = 0; i < s; i++)
            for (int j = 0; j < k; j++) { e0[i, j] = (float)q0[i, j]; et[i, j] = (float)(0.9 * q0[i, j] + 0.1 * qt[i, j]); }
        var flipped = et.Clone();
        for (int i = 0; i < s; i++) for (int j = 0; j < k; j += 2) flipped[i, j] = -flipped[i, j];
        Assert.Equal(EigenvectorChange.Overlap(e0, et), EigenvectorChange.Overlap(e0, flipped));
        var a1 = EigenvectorChange.PrincipalAngles(e0, et, k);
        var a2 = EigenvectorChange.PrincipalAngles(e0, flipped, k);
        for (int j = 0; j < k; j++) Assert.Equal(a1[j], a2[j], 6);
        Assert.Equal(EigenvectorChange.ProjectionDistance(e0, et, 5), EigenvectorChange.ProjectionDistance(e0, flipped, 5), 6);
        Assert.Equal(EigenvectorChange.SumChange(e0, et), EigenvectorChange.SumChange(e0, flipped));
        // Without the convention the paper's metric is not sign-invariant: the raw sums of a flipped column differ.
        double Raw(Matrix m, int j) { double t = 0; for (int i = 0; i < s; i++) t += m[i, j]; return t; }
        Assert.NotEqual(Raw(et, 0), Raw(flipped, 0));
        // The stored convention: the entry of largest magnitude is positive.
        var conv = EigenvectorChange.WithSignConvention(flipped);
        for (int j = 0; j < k; j++)
        {
            int best = 0;
            for (int i = 1; i < s; i++) if (Math.Abs(conv[i, j]) > Math.Abs(conv[best, j])) best = i;
            Assert.True(conv[best, j] > 0);
        }
    }

    [Fact]
    public void EigenvalueChangeAndCeasedAt()
    {
        Assert.Equal([0.5, 0.0], EigenvectorChange.EigenvalueChange([2.0, 1.0], [3.0, 1.0, 7.0]));
        Assert.Equal(1, EigenvectorChange.CeasedAt([0.5, 0.001, 0.002]));
        Assert.Equal(0, EigenvectorChange.CeasedAt([0.001, 0.001]));
        Assert.Null(EigenvectorChange.CeasedAt([0.001, 0.5]));
        Assert.Equal(3, EigenvectorChange.CeasedAt([0.5, 0.3, 0.2, 0.001], tolerance: 0.01));
        var e = Assert.Throws<ArgumentException>(() => EigenvectorChange.Overlap(new Matrix(4, 2), new Matrix(5, 2)));
        Assert.Contains("different subsamples", e.Message);
        Assert.Throws<ArgumentException>(() => EigenvectorChange.PrincipalAngles(new Matrix(4, 2), new Matrix(4, 2), 3));
    }
}
