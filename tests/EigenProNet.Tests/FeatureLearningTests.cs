using EigenProNet.Data;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Tests;

/// <summary>RFM and the AGOP against the spec's oracles (rfm-and-dynamics.md §4) and a float64 reference.</summary>
public class FeatureLearningTests
{
    /// <summary>
    /// Float64 AGOP straight from §1.3: ∇f_k(z) = Σᵢ α_ik ∂k(z, xᵢ)/∂z with ∂k/∂z = k′(‖z − xᵢ‖_M)·M(z − xᵢ)/‖z − xᵢ‖_M,
    /// pairs closer than 1e-10 skipped; mean over z of Σ_k ∇f_k ∇f_kᵀ.
    /// </summary>
    private static double[,] NaiveAgop(MahalanobisKernel kernel, Matrix centers, Matrix alpha, Matrix samples)
    {
        int d = centers.Columns, c = alpha.Columns;
        var m = kernel.MatrixM();
        double L = kernel.Bandwidth;
        var agop = new double[d, d];
        for (int z = 0; z < samples.Rows; z++)
        {
            var grad = new double[c, d];
            for (int i = 0; i < centers.Rows; i++)
            {
                var diff = new double[d];
                for (int p = 0; p < d; p++) diff[p] = (double)samples[z, p] - centers[i, p];
                var mDiff = new double[d];
                double q = 0;
                for (int p = 0; p < d; p++)
                {
                    for (int r = 0; r < d; r++) mDiff[p] += m[p, r] * diff[r];
                    q += diff[p] * mDiff[p];
                }
                double dist = Math.Sqrt(Math.Max(q, 0));
                if (dist < 1e-10) continue;
                // γ with ∇_z k = −γ·M(z − x): Laplace k/(L·dist), Gaussian k/L².
                double gamma = kernel is MahalanobisGaussianKernel ? Math.Exp(-q / (2 * L * L)) / (L * L) : Math.Exp(-dist / L) / (L * dist);
                for (int k = 0; k < c; k++)
                    for (int p = 0; p < d; p++) grad[k, p] -= alpha[i, k] * gamma * mDiff[p];
            }
            for (int k = 0; k < c; k++)
                for (int p = 0; p < d; p++)
                    for (int r = 0; r < d; r++) agop[p, r] += grad[k, p] * grad[k, r] / samples.Rows;
        }
        return agop;
    }

    private static Matrix RandomSpd(int d, int seed)
    {
        var v = Reference.Random(d, d, seed, 0.4f);
        var m = Gemm.Multiply(v, v, Transpose.No, Transpose.Yes);
        for (int i = 0; i < d; i++) { m[i, i] += 0.3f; for (int j = 0; j < i; j++) m[i, j] = m[j, i]; }
        return m;
    }

    private static double Trace(double[,] a) => Enumerable.Range(0, a.GetLength(0)).Sum(i => a[i, i]);

    [Fact]
    public void SpecOracleO1GradientAndAgop()
    {
        var xc = Matrix.FromRows([0f, 0f], [1f, 0f], [0f, 2f]);
        var alpha = Matrix.FromRows([1f], [-2f], [0.5f]);
        var kernel = new MahalanobisLaplaceKernel(1.5, Matrix.FromRows([2f, 0.5f], [0.5f, 1f]));
        var centers = kernel.Prepare(xc);
        // At z = (0.3, −0.4) the AGOP over {z} is ∇f ∇fᵀ with ∇f(z) = (−1.205693096, −0.047689183).
        var single = Agop.Compute(centers, alpha, kernel.Prepare(Matrix.FromRows([0.3f, -0.4f])));
        double[] g = [-1.205693096, -0.047689183];
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 2; q++) Assert.Equal(g[p] * g[q], single[p, q], 5);
        // At the centre (1, 0), its own term dropped: ∇f = (−0.411187228, −0.025914308).
        var atCentre = Agop.Compute(centers, alpha, kernel.Prepare(Matrix.FromRows([1f, 0f])));
        double[] gc = [-0.411187228, -0.025914308];
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 2; q++) Assert.Equal(gc[p] * gc[q], atCentre[p, q], 6);
        // Over the three centres, mean, self-terms dropped.
        var agop = Agop.Compute(centers, alpha, centers);
        double[,] expected = { { 0.238484481, 0.017875016 }, { 0.017875016, 0.005854065 } };
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 2; q++) Assert.True(Math.Abs(expected[p, q] - agop[p, q]) <= 2e-7, $"AGOP[{p},{q}] = {agop[p, q]}");
        // The gradient weights themselves: γ = k/(L·dist), 0 on the diagonal.
        var w = new Matrix(3, 3);
        kernel.EvaluateGradientWeights(centers, centers, w);
        for (int i = 0; i < 3; i++) Assert.Equal(0f, w[i, i]);
        var k = kernel.Evaluate(xc, xc);
        double d01 = Math.Sqrt(2.0); // (1, 0)ᵀM(1, 0) = 2
        Assert.Equal(k[0, 1] / (1.5 * d01), w[0, 1], 6);
    }

    public static TheoryData<string, SimdPath> Cases()
    {
        var data = new TheoryData<string, SimdPath>();
        foreach (var kind in new[] { "laplace-full", "laplace-diagonal", "laplace-rank2", "gaussian-full" })
            foreach (var path in SimdCapabilities.Supported) data.Add(kind, path);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AgopMatchesFloat64ReferenceWithDuplicatedRowsAndManyOutputs(string kind, SimdPath path)
    {
        const int d = 9, n = 70, c = 3;
        MahalanobisKernel kernel = kind switch
        {
            "laplace-diagonal" => new MahalanobisLaplaceKernel(3, Enumerable.Range(0, d).Select(i => 0.1f + 0.3f * (i % 4)).ToArray()),
            "laplace-rank2" => new MahalanobisLaplaceKernel(3, LowRank(d, 2)),
            "gaussian-full" => new MahalanobisGaussianKernel(4, RandomSpd(d, 3)),
            _ => new MahalanobisLaplaceKernel(3, RandomSpd(d, 3)),
        };
        var x = Reference.Random(n, d, 11);
        x.Row(5).CopyTo(x.Row(40)); // a duplicated row: its pair must be dropped, not blow up
        x.Row(6).CopyTo(x.Row(41));
        for (int i = 0; i < n; i++) x[i, 4] = 0.25f; // a constant feature
        var alpha = Reference.Random(n, c, 12);
        var context = Reference.Context(path, 2);
        var rows = kernel.Prepare(x, context: context);
        var agop = Agop.Compute(rows, alpha, rows, context: context, budget: new MemoryBudget(64 << 10));
        var exact = NaiveAgop(kernel, x, alpha, x);
        double scale = Trace(exact);
        Assert.True(scale > 0);
        for (int p = 0; p < d; p++)
            for (int q = 0; q < d; q++)
                Assert.True(Math.Abs(agop[p, q] - exact[p, q]) <= 2e-4 * scale, $"{kind} {path}: AGOP[{p},{q}] = {agop[p, q]}, exact {exact[p, q]}");
        Assert.True(agop.Data.All(float.IsFinite));
        if (kernel.IsDiagonal)
        {
            var diagonal = Agop.Compute(rows, alpha, rows, diagonal: true, context: context);
            for (int p = 0; p < d; p++) Assert.Equal(agop[p, p], diagonal[0, p], 4);
        }
    }

    private static Matrix LowRank(int d, int rank)
    {
        var v = Reference.Random(d, rank, 21, 0.6f);
        var m = Gemm.Multiply(v, v, Transpose.No, Transpose.Yes);
        for (int i = 0; i < d; i++) for (int j = 0; j < i; j++) m[i, j] = m[j, i];
        return m;
    }

    [Fact]
    public void SpecOracleO2AgopIsSymmetricPsdOfBoundedRankAndAddsOverOutputs()
    {
        const int d = 8;
        var kernel = new MahalanobisLaplaceKernel(2, RandomSpd(d, 4));
        var x = Reference.Random(40, d, 5);
        var alpha = Reference.Random(40, 2, 6);
        var rows = kernel.Prepare(x);
        var samples = kernel.Prepare(Reference.Random(3, d, 7));
        // Three sample points, two outputs: rank ≤ 6 < d.
        var agop = Agop.Compute(rows, alpha, samples);
        var eig = SymmetricEigen.Full(agop);
        double top = eig.Values.Max();
        Assert.All(eig.Values, v => Assert.True(v >= -1e-5 * top, $"eigenvalue {v}"));
        Assert.Equal(2, eig.Values.Count(v => Math.Abs(v) <= 1e-5 * top));
        for (int p = 0; p < d; p++) for (int q = 0; q < d; q++) Assert.Equal(agop[p, q], agop[q, p]);
        // Σ over outputs: the AGOP of (α₁, α₂) is the AGOP of α₁ plus that of α₂.
        Matrix Column(int k) { var a = new Matrix(40, 1); for (int i = 0; i < 40; i++) a[i, 0] = alpha[i, k]; return a; }
        var a1 = Agop.Compute(rows, Column(0), samples);
        var a2 = Agop.Compute(rows, Column(1), samples);
        for (int p = 0; p < d; p++) for (int q = 0; q < d; q++) Assert.Equal(agop[p, q], a1[p, q] + a2[p, q], 4);
        // Centering: with one sample point every gradient is its own mean, so nothing is left.
        var one = kernel.Prepare(Reference.Random(1, d, 8));
        Assert.All(Agop.Compute(rows, alpha, one, centerGradients: true).Data, v => Assert.Equal(0f, v, 6));
        // Max-entry normalisation: the largest entry becomes 1.
        Assert.Equal(1f, Agop.Compute(rows, alpha, samples, normalization: AgopNormalization.MaxEntry).Data.Max(MathF.Abs), 5);
    }

    /// <summary>The spec's O3 task: X ~ N(0, I₁₀), y = x₀·x₁, 300 training and 300 validation rows.</summary>
    private static (Matrix X, Matrix Y, Matrix VX, Matrix VY) ProductTask(int d = 10, int n = 300, int seed = 101)
    {
        var x = Matrix.RandomNormal(n, d, seed);
        var vx = Matrix.RandomNormal(n / 2, d, seed + 1);
        Matrix Target(Matrix a) { var y = new Matrix(a.Rows, 1); for (int i = 0; i < a.Rows; i++) y[i, 0] = a[i, 0] * a[i, 1]; return y; }
        return (x, Target(x), vx, Target(vx));
    }

    private static double MassOnFirstTwo(Matrix m)
    {
        var diag = m.Rows == 1 ? m.Row(0).ToArray() : Enumerable.Range(0, m.Rows).Select(i => m[i, i]).ToArray();
        return (diag[0] + diag[1]) / diag.Sum();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SpecOracleO3O4RecoversTheRelevantFeatures(bool diagonal)
    {
        // The scaled-up version (d = 20, n = 1000): at n = 300 the MSE drop is seed-dependent even in float64.
        var (x, y, vx, vy) = ProductTask(20, 1000);
        var rfm = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Diagonal = diagonal, Solver = RfmSolver.Direct });
        var result = rfm.Fit(x, y, vx, vy);
        Assert.Equal(5, result.Iterations.Count);
        Assert.Equal(0.1, MassOnFirstTwo(result.Matrices[0]), 6);
        Assert.True(MassOnFirstTwo(result.Matrices[2]) > 0.9, $"mass after 2 updates {MassOnFirstTwo(result.Matrices[2])}");
        double mse0 = result.Iterations[0].ValidationMse!.Value;
        Assert.InRange(mse0, 0.1, 0.4); // the oracle: 0.17–0.27 over four seeds
        for (int t = 2; t < 5; t++)
            Assert.True(result.Iterations[t].ValidationMse < 0.1 * mse0, $"t = {t}: {result.Iterations[t].ValidationMse} vs {mse0}");
        Assert.True(result.BestIteration >= 2);
        Assert.True(result.SelectedOnValidation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WholeLoopMatchesAFloat64Reference(bool diagonal)
    {
        // The §1.4 loop in float64 from the formulas: K_M by its definition, (K + λI)⁻¹Y by Cholesky, the naive AGOP.
        var (x, y, vx, vy) = ProductTask(6, 120, 7);
        const double ridge = 1e-3;
        var result = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 3, Diagonal = diagonal, Bandwidth = 3, Ridge = ridge }).Fit(x, y, vx, vy);
        int n = x.Rows, d = x.Columns;
        var m = new double[d, d];
        for (int p = 0; p < d; p++) m[p, p] = 1;
        for (int t = 0; t < 3; t++)
        {
            var mFloat = new Matrix(d, d);
            for (int p = 0; p < d; p++) for (int q = 0; q < d; q++) mFloat[p, q] = (float)m[p, q];
            var kernel = new MahalanobisLaplaceKernel(3, mFloat);
            double Kxz(Matrix a, int i, Matrix b, int j)
            {
                double q = 0;
                for (int p = 0; p < d; p++) for (int r = 0; r < d; r++) q += ((double)a[i, p] - b[j, p]) * m[p, r] * ((double)a[i, r] - b[j, r]);
                return Math.Exp(-Math.Sqrt(Math.Max(q, 0)) / 3);
            }
            var k = new double[n, n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) k[i, j] = Kxz(x, i, x, j) + (i == j ? ridge : 0);
            var alpha = CholeskySolve(k, Enumerable.Range(0, n).Select(i => (double)y[i, 0]).ToArray());
            double mse = 0;
            for (int i = 0; i < vx.Rows; i++)
            {
                double f = 0;
                for (int j = 0; j < n; j++) f += Kxz(vx, i, x, j) * alpha[j];
                mse += (f - vy[i, 0]) * (f - vy[i, 0]) / vx.Rows;
            }
            Assert.True(Math.Abs(result.Iterations[t].ValidationMse!.Value - mse) <= 1e-3 * mse, $"t = {t}: MSE {result.Iterations[t].ValidationMse} vs {mse}");
            var a = new Matrix(n, 1);
            for (int i = 0; i < n; i++) a[i, 0] = (float)alpha[i];
            var agop = NaiveAgop(kernel, x, a, x);
            for (int p = 0; p < d; p++) for (int q = 0; q < d; q++) m[p, q] = diagonal && p != q ? 0 : agop[p, q];
            double scale = Enumerable.Range(0, d).Max(p => m[p, p]);
            var ours = result.Matrices[t + 1];
            for (int p = 0; p < d; p++)
                for (int q = 0; q < d; q++)
                {
                    double v = diagonal ? (p == q ? ours[0, p] : 0) : ours[p, q];
                    Assert.True(Math.Abs(v - m[p, q]) <= 2e-3 * scale, $"t = {t}: M[{p},{q}] = {v} vs {m[p, q]}");
                }
        }
    }

    private static double[] CholeskySolve(double[,] a, double[] b)
    {
        int n = b.Length;
        var l = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            double s = a[j, j];
            for (int k = 0; k < j; k++) s -= l[j, k] * l[j, k];
            l[j, j] = Math.Sqrt(s);
            for (int i = j + 1; i < n; i++)
            {
                double v = a[i, j];
                for (int k = 0; k < j; k++) v -= l[i, k] * l[j, k];
                l[i, j] = v / l[j, j];
            }
        }
        var z = new double[n];
        for (int i = 0; i < n; i++) { double v = b[i]; for (int k = 0; k < i; k++) v -= l[i, k] * z[k]; z[i] = v / l[i, i]; }
        var xs = new double[n];
        for (int i = n - 1; i >= 0; i--) { double v = z[i]; for (int k = i + 1; k < n; k++) v -= l[k, i] * xs[k]; xs[i] = v / l[i, i]; }
        return xs;
    }

    [Fact]
    public void SpecOracleO9BookkeepingAndSelection()
    {
        var (x, y, vx, vy) = ProductTask(6, 120);
        var seen = new List<RfmIteration>();
        var rfm = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 3 });
        var result = rfm.Fit(x, y, vx, vy, observer: new Observer(seen.Add));
        // T solves, T updates: M₀ … M_T, the observer once per solve with the M that solve used.
        Assert.Equal(4, result.Matrices.Count);
        Assert.Equal([0, 1, 2], seen.Select(s => s.Iteration));
        for (int t = 0; t < 3; t++) Assert.Same(result.Matrices[t], seen[t].M);
        int best = result.Iterations.Select((r, t) => (r.ValidationMse!.Value, t)).Min().t;
        Assert.Equal(best, result.BestIteration);
        Assert.Same(result.Matrices[best], result.M);
        // The selected model is rebuilt from its weights and M (not held through later iterations): the same weights, the same predictions.
        Assert.Same(seen[best].Model.Weights, result.Model.Weights);
        Assert.Equal(seen[best].Model.Predict(x).Data, result.Model.Predict(x).Data);
        var kernelM = ((MahalanobisKernel)result.Model.Kernel).MatrixM();
        Assert.Equal(result.M.Data, kernelM.Data);
        // Without validation the last iteration is returned, and the settings say so.
        var noValidation = rfm.Fit(x, y);
        Assert.False(noValidation.SelectedOnValidation);
        Assert.Equal(2, noValidation.BestIteration);
        Assert.Contains(noValidation.Settings.Warnings!, w => w.Contains("no validation"));
        // The same seed gives the same machine.
        Assert.Equal(result.Model.Weights.Data, rfm.Fit(x, y, vx, vy).Model.Weights.Data);
    }

    [Fact]
    public void AgopSampleCapDrawsAReproducibleSample()
    {
        var (x, y, vx, vy) = ProductTask(6, 120);
        RfmResult Run(int cap, int seed) => new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 2, AgopSampleSize = cap, Seed = seed }).Fit(x, y, vx, vy);
        var all = Run(20_000, 1);
        var capped = Run(40, 1);
        Assert.NotEqual(all.Matrices[1].Data, capped.Matrices[1].Data);             // 40 of 120 points, not all of them
        Assert.Equal(capped.Matrices[1].Data, Run(40, 1).Matrices[1].Data);        // the same seed, the same sample
        Assert.NotEqual(capped.Matrices[1].Data, Run(40, 2).Matrices[1].Data);
        Assert.True(MassOnFirstTwo(capped.Matrices[1]) > 0.5);                     // still an AGOP of the same predictor
    }

    private sealed class Observer(Action<RfmIteration> on) : IFeatureLearningObserver
    {
        public void OnIteration(RfmIteration iteration) => on(iteration);
    }

    [Fact]
    public void DiagonalAndFullMAgreeWhenTheAgopIsDiagonal()
    {
        // Every sign flip of every point is in the data and the target is even in each coordinate, so the predictor is
        // too and the off-diagonal AGOP entries cancel: full RFM must learn the diagonal RFM's matrix.
        var basePoints = Reference.Random(12, 3, 31);
        var x = new Matrix(12 * 8, 3);
        var y = new Matrix(12 * 8, 1);
        for (int i = 0; i < 12; i++)
            for (int s = 0; s < 8; s++)
            {
                int r = i * 8 + s;
                for (int p = 0; p < 3; p++) x[r, p] = ((s >> p) & 1) == 1 ? -basePoints[i, p] : basePoints[i, p];
                y[r, 0] = x[r, 0] * x[r, 0] + 0.3f * x[r, 1] * x[r, 1];
            }
        var full = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 3, Bandwidth = 2 }).Fit(x, y);
        var diag = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 3, Bandwidth = 2, Diagonal = true }).Fit(x, y);
        for (int t = 1; t <= 3; t++)
        {
            var mf = full.Matrices[t];
            var md = diag.Matrices[t];
            double scale = md.Data.Max();
            for (int p = 0; p < 3; p++)
                for (int q = 0; q < 3; q++)
                    Assert.True(Math.Abs(mf[p, q] - (p == q ? md[0, p] : 0)) <= 1e-3 * scale, $"t = {t}: M[{p},{q}] = {mf[p, q]} vs {(p == q ? md[0, p] : 0)}");
        }
    }

    [Fact]
    public void DuplicatedRowsConstantFeaturesAndOneDimensionGiveFiniteResults()
    {
        var x = new Matrix(60, 1);
        var labels = new int[60];
        for (int i = 0; i < 60; i++) { x[i, 0] = (i % 20) / 10f; labels[i] = i % 20 < 10 ? 0 : 1; } // every row three times
        var data = new Dataset(x, labels, 2, "duplicates");
        var result = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 3, Ridge = 0 }).Fit(data, data);
        Assert.All(result.Matrices, m => Assert.All(m.Data, v => Assert.True(float.IsFinite(v))));
        Assert.True(result.Model.Score(data) > 0.9);
        // K(X, X) is singular with duplicated rows and no ridge: the jitter that made it factorable is reported.
        Assert.True(result.Iterations[0].Jitter > 0);
    }

    [Fact]
    public void EigenPro2InnerSolvePinsOneSubsampleForTheWholeRun()
    {
        var (x, y, vx, vy) = ProductTask(6, 400);
        var seen = new List<RfmIteration>();
        var rfm = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions
        {
            Iterations = 3, Solver = RfmSolver.EigenPro2, EigenPro = new EigenProNet.Solvers.EigenPro2Options { Epochs = 3, SubsampleSize = 150 },
        });
        var result = rfm.Fit(x, y, vx, vy, observer: new Observer(seen.Add));
        Assert.All(seen, s => Assert.NotNull(s.Preconditioner));
        Assert.All(seen, s => Assert.Equal(seen[0].Preconditioner!.SubsampleIndices, s.Preconditioner!.SubsampleIndices));
        Assert.Equal("rfm", result.Settings.Solver);
        Assert.True(result.Iterations[^1].ValidationMse < result.Iterations[0].ValidationMse);
    }

    [Fact]
    public void BadOptionsAndShapesAreNamed()
    {
        Assert.Throws<ArgumentException>(() => new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 0 }));
        Assert.Throws<ArgumentException>(() => new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Bandwidth = -1 }));
        var (x, y, _, _) = ProductTask(4, 30);
        var e = Assert.Throws<ArgumentException>(() => new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { InitialM = new Matrix(3, 3) }).Fit(x, y));
        Assert.Contains("4 × 4", e.Message);
        var nan = x.Clone();
        nan[3, 1] = float.NaN;
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => new RecursiveFeatureMachine().Fit(nan, y)).ParamName);
    }
}

/// <summary>RFM on real CIFAR-10 rows (the bundled sample) against a float64 NumPy run of the same loop.</summary>
public class RfmOnCifarSampleTests
{
    [Fact]
    public void MatchesTheFloat64ReferenceIterationByIteration()
    {
        // The first 600 training records of data/cifar10-sample and its 500 test records, rows L2-normalised; L = 10,
        // ridge 1e-3, direct solves, mean AGOP. Reference: NumPy float64 (np.linalg.solve, the §1.3 gradient in matrix
        // form), run once when this test was written: test MSE and tr(M_t) per iteration.
        string folder = Path.Combine(Reference.RepoRoot(), "data", "cifar10-sample");
        var train = EigenProNet.Data.CifarBinary.Load([Path.Combine(folder, "data_batch_1.bin")]).Subset(Enumerable.Range(0, 600).ToArray());
        var test = EigenProNet.Data.CifarBinary.Load([Path.Combine(folder, "test_batch.bin")]);
        var scaling = EigenProNet.Data.Preprocessor.Fit(EigenProNet.Data.Scaling.L2, train.Features);
        scaling.TransformInPlace(train.Features);
        scaling.TransformInPlace(test.Features);
        var result = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Iterations = 3, Solver = RfmSolver.Direct }).Fit(train, test);
        double[] mse = [0.08055466, 0.09179372, 0.09508736];
        double[] accuracy = [0.338, 0.302, 0.282];
        double[] trace = [3072, 320.614830, 1169.027228, 1530.282072];
        for (int t = 0; t < 3; t++)
        {
            Assert.True(Math.Abs(result.Iterations[t].ValidationMse!.Value - mse[t]) <= 1e-3 * mse[t], $"t = {t}: MSE {result.Iterations[t].ValidationMse} vs {mse[t]}");
            Assert.InRange(result.Iterations[t].ValidationAccuracy!.Value, accuracy[t] - 0.005, accuracy[t] + 0.005);
        }
        for (int t = 0; t <= 3; t++)
        {
            var m = result.Matrices[t];
            double tr = Enumerable.Range(0, m.Rows).Sum(i => (double)m[i, i]);
            Assert.True(Math.Abs(tr - trace[t]) <= 2e-3 * trace[t], $"tr(M_{t}) = {tr} vs {trace[t]}");
        }
        // On raw pixels the learned metric does not help: the best iteration is the plain Laplace machine (t = 0).
        Assert.Equal(0, result.BestIteration);
    }

    [Fact]
    public void ADirectRfmThatCannotFitIsRefusedBeforeTheFirstIterationWithTheEstimate()
    {
        var x = Matrix.RandomNormal(2000, 5, 1);
        var y = Matrix.RandomNormal(2000, 1, 2);
        var rfm = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions { Solver = RfmSolver.Direct, Iterations = 2, Budget = new MemoryBudget(16L << 20) });
        var e = Assert.Throws<MemoryBudgetExceededException>(() => rfm.Fit(x, y));
        Assert.Contains("RFM with the direct solve on 2000 rows", e.Message);
        Assert.Contains("the 2000×2000 kernel matrix and its factor 30.5 MiB", e.Message);
        Assert.DoesNotContain("--", e.Message);
    }
}
