namespace EigenProNet.LinearAlgebra;

/// <summary>
/// The top-k path of <see cref="SymmetricEigen.Top"/>: block subspace iteration with Rayleigh–Ritz. Products with A
/// (n×n·n×b, nearly all the work) run in the float32 GEMM; the b×b projected problems and the orthonormalisation
/// run in float64 through the dense eigensolver. Orthonormalising the Ritz-rotated block A·X (columns scaled to unit
/// norm) keeps its Gram matrix close to I + (residual terms), so one symmetric (Löwdin) orthonormalisation usually
/// suffices; a second pass runs when the first was ill-conditioned.
/// </summary>
internal static class SubspaceIteration
{
    private const int DefaultMaxIterations = 300;
    private const int Seed = 20_260_401;

    /// <summary>Block size for k wanted pairs: k plus an eighth (at least 32) of guard vectors.</summary>
    public static int BlockSize(int k) => k + Math.Max(32, k / 8);

    /// <summary>Below this order the dense path takes well under a second and is exact to rounding, so it is always used.</summary>
    public const int MinSize = 1500;

    /// <summary>
    /// Whether the iteration is expected to beat the dense path: a cost model calibrated on this project's own
    /// measurements (dense ≈ 1.3e-10·n³ s; an iteration ≈ 2n²b flops of float32 GEMM plus three b×b float64
    /// decompositions, about 8–12 iterations at the default tolerance).
    /// </summary>
    public static bool Pays(int n, int k)
    {
        int b = BlockSize(k);
        if (k == 0 || n < MinSize || 2 * b > n) return false;
        double dense = 1.3e-10 * n * (double)n * n;
        double iterative = 12 * (2.0 * n * n * b / 250e9 + 4e-10 * b * (double)b * b);
        return iterative < dense;
    }

    /// <summary>Returns null when the block cannot be kept linearly independent (A's rank is below the block size).</summary>
    public static EigenDecomposition? Run(MatrixView a, int k, double tolerance, int maxIterations = DefaultMaxIterations)
    {
        int b = BlockSize(k);
        int n = a.Rows;
        var v = Matrix.RandomNormal(n, b, Seed);
        if (!Orthonormalize(v)) return null;
        var w = new Matrix(n, b);
        var x = new Matrix(n, b);
        var h = new Matrix(b, b);
        var residual = new double[k];
        double worst = double.PositiveInfinity;
        int worstIndex = 0;
        for (int iteration = 1; iteration <= maxIterations; iteration++)
        {
            Gemm.Compute(Transpose.No, Transpose.No, 1f, a, v, 0f, w);            // W = A·V
            Gemm.Compute(Transpose.Yes, Transpose.No, 1f, v, w, 0f, h);           // H = Vᵀ·A·V
            // The projected problem, in float64, descending; U comes back as a float32 b×b matrix.
            var (theta, u) = SymmetricEigen.Dense(h, b);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, v, u, 0f, x);            // X = V·U (Ritz vectors)
            Gemm.Compute(Transpose.No, Transpose.No, 1f, w, u, 0f, v);            // A·X, the next block
            double norm = Math.Max(Math.Abs(theta[0]), Math.Abs(theta[b - 1]));
            Residuals(x, v, theta, residual);
            worst = 0;
            for (int j = 0; j < k; j++)
                if (residual[j] > worst) { worst = residual[j]; worstIndex = j; }
            if (worst <= tolerance * norm || norm == 0)
            {
                var vectors = new Matrix(n, k);
                x.View.Block(0, 0, n, k).CopyTo(vectors);
                return new EigenDecomposition(theta[..k], vectors);
            }
            worst /= norm;
            if (!Orthonormalize(v)) return null;
        }
        throw new InvalidOperationException(
            $"The top-{k} eigensolver did not converge in {maxIterations} subspace iterations: eigenpair {worstIndex + 1} still has " +
            $"relative residual {worst:G3} (tolerance {tolerance:G3}).");
    }

    /// <summary>‖A·x_j − θ_j·x_j‖ for the first residual.Length columns, accumulated in float64.</summary>
    private static void Residuals(Matrix x, Matrix ax, double[] theta, double[] residual)
    {
        int k = residual.Length;
        var sums = new double[k];
        for (int i = 0; i < x.Rows; i++)
        {
            var xr = x.Row(i);
            var yr = ax.Row(i);
            for (int j = 0; j < k; j++)
            {
                double d = yr[j] - theta[j] * xr[j];
                sums[j] += d * d;
            }
        }
        for (int j = 0; j < k; j++) residual[j] = Math.Sqrt(sums[j]);
    }

    /// <summary>
    /// Replaces the columns of V by an orthonormal basis of their span: unit columns, then V ← V·S·Λ^(−1/2) from the
    /// float64 eigen-decomposition of the Gram matrix VᵀV = SΛSᵀ (twice when κ(VᵀV) costs more than 1e-4 of
    /// orthogonality). Returns false when VᵀV is numerically singular.
    /// </summary>
    private static bool Orthonormalize(Matrix v)
    {
        int n = v.Rows, b = v.Columns;
        var norms = new double[b];
        for (int i = 0; i < n; i++)
        {
            var r = v.Row(i);
            for (int j = 0; j < b; j++) norms[j] += (double)r[j] * r[j];
        }
        var scale = new float[b];
        for (int j = 0; j < b; j++)
        {
            if (!(norms[j] > 0)) return false;
            scale[j] = (float)(1 / Math.Sqrt(norms[j]));
        }
        for (int i = 0; i < n; i++) System.Numerics.Tensors.TensorPrimitives.Multiply(v.Row(i), scale, v.Row(i));
        var g = new Matrix(b, b);
        var t = new Matrix(b, b);
        var tmp = new Matrix(n, b);
        for (int pass = 0; pass < 2; pass++)
        {
            Gemm.SymmetricRankK(Transpose.Yes, 1f, v, 0f, g);
            var gd = new double[(long)b * b];
            for (long i = 0; i < gd.Length; i++) gd[i] = g.Data[i];
            var (lambda, s) = SymmetricEigen.Decompose(gd, b);
            double max = lambda.Max(), min = lambda.Min();
            // float32 Gram entries carry errors of ~n·u relative; below that the direction is lost.
            if (!(min > 1e-5 * max)) return false;
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) t[i, j] = (float)(s[(long)i * b + j] / Math.Sqrt(lambda[j]));
            Gemm.Compute(Transpose.No, Transpose.No, 1f, v, t, 0f, tmp);
            tmp.Data.AsSpan().CopyTo(v.Data);
            if (max / min * 6e-8 * b < 1e-4) break;
        }
        return true;
    }
}
