using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

public class EigenProIterationTests
{
    private static readonly LaplaceKernel Kernel = new(Math.Sqrt(10));

    private static (Matrix X, Matrix Y) Data(int n, int seed = 5)
    {
        var x = Matrix.RandomNormal(n, 10, seed);
        return (x, Gemm.Multiply(x, Matrix.RandomNormal(10, 3, seed + 1)));
    }

    /// <summary>U·diag(r)·Uᵀ·M in float64 (M is s × c).</summary>
    private static double[,] Flatten(NystromPreconditioner pre, double[,] m)
    {
        int s = pre.SubsampleSize, k = pre.Directions, c = m.GetLength(1);
        var result = new double[s, c];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < c; j++)
            {
                double dot = 0;
                for (int i = 0; i < s; i++) dot += pre.Eigenvectors[i, p] * m[i, j];
                for (int i = 0; i < s; i++) result[i, j] += pre.Eigenvectors[i, p] * pre.Coefficients[p] * dot;
            }
        return result;
    }

    [Fact]
    public void ProjectLiftAndLiftAtMatchTheFloat64Formulas()
    {
        var (x, _) = Data(400);
        var points = Kernel.Prepare(x);
        var pre = NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 120, Directions = 15, Seed = 2 });
        var batch = Kernel.Prepare(x.RowBlock(0, 50).ToMatrix());
        var kbs = new Matrix(50, 120);
        Kernel.Evaluate(batch, pre.Subsample, kbs);
        var g = Matrix.RandomNormal(50, 3, 9);
        // Kᵀ·G in float64, then the flattening.
        var kg = new double[120, 3];
        for (int i = 0; i < 120; i++) for (int j = 0; j < 3; j++) for (int b = 0; b < 50; b++) kg[i, j] += (double)kbs[b, i] * g[b, j];
        var expected = Flatten(pre, kg);
        var projected = new Matrix(15, 3);
        var output = new Matrix(120, 3);
        pre.Project(kbs, g, projected, new Matrix(120, 3));
        var before = projected.Clone();
        pre.Lift(projected, output, new Matrix(15, 3));
        // Lift reads its input and leaves it: the same call again gives the same correction.
        Assert.Equal(before.Data, projected.Data);
        var again = new Matrix(120, 3);
        pre.Lift(projected, again, new Matrix(15, 3));
        Assert.Equal(output.Data, again.Data);
        var allocating = new Matrix(120, 3);
        pre.Correction(kbs, g, allocating);
        double scale = 0;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < 120; i++)
            for (int j = 0; j < 3; j++)
            {
                Assert.True(Math.Abs(output[i, j] - expected[i, j]) <= 1e-4 * scale, $"({i}, {j}): {output[i, j]} vs {expected[i, j]}");
                Assert.Equal(output[i, j], allocating[i, j]);
            }
        // LiftAt: K(Z, S)·U·diag(r) for 30 other points.
        var z = Kernel.Prepare(Matrix.RandomNormal(30, 10, 4));
        var kzs = new Matrix(30, 120);
        Kernel.Evaluate(z, pre.Subsample, kzs);
        var lifted = new Matrix(30, 15);
        pre.LiftAt(kzs, lifted);
        for (int i = 0; i < 30; i++)
            for (int p = 0; p < 15; p++)
            {
                double e = 0;
                for (int t = 0; t < 120; t++) e += (double)kzs[i, t] * pre.Eigenvectors[t, p];
                e *= pre.Coefficients[p];
                Assert.True(Math.Abs(lifted[i, p] - e) <= 1e-5 * (1 + Math.Abs(e)), $"LiftAt ({i}, {p})");
            }
        Assert.Throws<ArgumentException>(() => pre.Project(kbs, g, new Matrix(14, 3), new Matrix(120, 3)));
        Assert.Throws<ArgumentException>(() => pre.Lift(projected, new Matrix(119, 3), new Matrix(15, 3)));
        Assert.Throws<ArgumentException>(() => pre.Lift(projected, new Matrix(120, 3), new Matrix(14, 3)));
    }

    [Fact]
    public void FixedSubsampleIndicesArePinnedAndChecked()
    {
        var (x, _) = Data(300);
        var points = Kernel.Prepare(x);
        int[] pinned = [.. Enumerable.Range(0, 60).Select(i => 299 - 4 * i)];
        var pre = NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 60, Directions = 5, SubsampleIndices = pinned });
        Assert.Equal(pinned.Order(), pre.SubsampleIndices);
        // Another seed does not move a pinned subsample.
        var again = NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 60, Directions = 5, SubsampleIndices = pinned, Seed = 99 });
        Assert.Equal(pre.Spectrum, again.Spectrum);
        var e = Assert.Throws<ArgumentException>(() => NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 60, SubsampleIndices = pinned[..59] }));
        Assert.Contains("Expected 60 subsample indices", e.Message);
        e = Assert.Throws<ArgumentException>(() => NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 3, SubsampleIndices = [1, 2, 1] }));
        Assert.Contains("appears twice", e.Message);
        e = Assert.Throws<ArgumentException>(() => NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 3, SubsampleIndices = [1, 2, 300] }));
        Assert.Contains("outside the 300 points", e.Message);
    }

    [Fact]
    public void OneStepIsTheSpecUpdateInFloat64()
    {
        // §1.8: G = K(X_B, X)·α − Y_B; α[B] −= η·G; α[S] += η·U·diag(r)·Uᵀ·K(S, X_B)·G, scatter-add, from nonzero α.
        var (x, y) = Data(200);
        var points = Kernel.Prepare(x);
        var pre = NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 80, Directions = 10, Seed = 3 });
        var weights = Matrix.RandomNormal(200, 3, 11, 0.01f);
        var before = weights.Clone();
        const double eta = 0.7;
        var iteration = new EigenProIteration(points, pre, 3, 64, eta);
        // A batch that shares indices with the subsample, so both updates touch some rows.
        int[] batch = [.. pre.SubsampleIndices.Take(10), .. Enumerable.Range(0, 200).Where(i => !pre.SubsampleIndices.Contains(i)).Take(30)];
        iteration.Step(batch, y, weights);

        var k = Kernel.Evaluate(x, x);
        var g = new double[batch.Length, 3];
        for (int b = 0; b < batch.Length; b++)
            for (int j = 0; j < 3; j++)
            {
                double s = -y[batch[b], j];
                for (int t = 0; t < 200; t++) s += (double)k[batch[b], t] * before[t, j];
                g[b, j] = s;
            }
        var kg = new double[80, 3];
        for (int i = 0; i < 80; i++)
            for (int j = 0; j < 3; j++)
                for (int b = 0; b < batch.Length; b++) kg[i, j] += (double)k[pre.SubsampleIndices[i], batch[b]] * g[b, j];
        var correction = Flatten(pre, kg);
        var expected = new double[200, 3];
        for (int i = 0; i < 200; i++) for (int j = 0; j < 3; j++) expected[i, j] = before[i, j];
        for (int b = 0; b < batch.Length; b++) for (int j = 0; j < 3; j++) expected[batch[b], j] -= eta * g[b, j];
        for (int i = 0; i < 80; i++) for (int j = 0; j < 3; j++) expected[pre.SubsampleIndices[i], j] += eta * correction[i, j];
        for (int i = 0; i < 200; i++)
            for (int j = 0; j < 3; j++)
                Assert.True(Math.Abs(weights[i, j] - expected[i, j]) <= 1e-4 * (1 + Math.Abs(expected[i, j])), $"α[{i},{j}] = {weights[i, j]} vs {expected[i, j]}");
        for (int b = 0; b < batch.Length; b++)
            Assert.True(Math.Abs(iteration.Residual[b, 0] - g[b, 0]) <= 1e-4 * (1 + Math.Abs(g[b, 0])));
    }

    [Fact]
    public void OwnedWeightsStepExactlyAsWeightsHeldElsewhere()
    {
        // The owned weights keep a transposed copy by the rows each step changes; it must never drift from a fresh
        // transposition (what stepping weights held elsewhere does): same floats, bit for bit, over many steps,
        // after a direct write before the first step, after SetWeights mid-way and after ClearWeights.
        var (x, y) = Data(300);
        var points = Kernel.Prepare(x);
        var pre = NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 60, Directions = 8, Seed = 4 });
        var owned = new EigenProIteration(points, pre, 3, 50, 0.5);
        var outside = new EigenProIteration(points, pre, 3, 50, 0.5);
        var weights = Matrix.RandomNormal(300, 3, 12, 0.01f);
        weights.View.CopyTo(owned.Weights);   // a direct write before the first step (a resumed checkpoint)
        var rng = new Random(8);
        void StepBoth(int steps)
        {
            for (int t = 0; t < steps; t++)
            {
                int[] batch = Preprocessing.Permutation(300, rng)[..(10 + t % 40)];
                owned.Step(batch, y);
                outside.Step(batch, y, weights);
                Assert.Equal(weights.Data, owned.Weights.Data);
                Assert.Equal(outside.Residual.ToMatrix().Data, owned.Residual.ToMatrix().Data);
            }
        }
        StepBoth(12);
        var reset = Matrix.RandomNormal(300, 3, 13, 0.02f);
        owned.SetWeights(reset);
        reset.View.CopyTo(weights);
        StepBoth(6);
        owned.ClearWeights();
        weights.AsSpan().Clear();
        Assert.All(owned.Weights.Data, w => Assert.Equal(0f, w));
        StepBoth(6);
        Assert.Contains(weights.Data, w => w != 0);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => owned.SetWeights(new Matrix(299, 3))).ParamName);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var (x, y) = Data(100);
        var points = Kernel.Prepare(x);
        var pre = NystromPreconditioner.Build(points, new NystromOptions { SubsampleSize = 40, Directions = 5 });
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new EigenProIteration(points, pre, 3, 101, 1)).ParamName);
        Assert.Equal("stepSize", Assert.Throws<ArgumentOutOfRangeException>(() => new EigenProIteration(points, pre, 3, 10, double.NaN)).ParamName);
        var other = new GaussianKernel(1).Prepare(x);
        Assert.Equal("preconditioner", Assert.Throws<ArgumentException>(() => new EigenProIteration(other, pre, 3, 10, 1)).ParamName);
        var iteration = new EigenProIteration(points, pre, 3, 10, 1);
        Assert.Equal("batch", Assert.Throws<ArgumentException>(() => iteration.Step(new int[11], y, new Matrix(100, 3))).ParamName);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => iteration.Step([1, 2], new Matrix(100, 2), new Matrix(100, 3))).ParamName);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => iteration.Step([1, 2], y, new Matrix(99, 3))).ParamName);
    }
}
