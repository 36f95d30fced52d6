namespace EigenProNet.LinearAlgebra;

/// <summary>
/// The top-k path of <see cref="SymmetricEigen.Top"/>: block subspace iteration with Rayleigh–Ritz. Products with A
/// (n×n·n×b, nearly all the work) run in the float32 GEMM; the b×b projected problems and the orthonormalisation
/// run in float64 through the dense eigensolver. Orthonormalising the Ritz-rotated block A·X (columns scaled to unit
/// norm) keeps its Gram matrix close to I + (residual terms), so one symmetric (Löwdin) orthonormalisation usually
/// suffices; a second pass runs when the first was ill-conditioned. Converged pairs are locked (deflated) as they
/// come, so the block shrinks as the iteration goes on; when the remaining pairs stop improving, the locked ones
/// rejoin the block for one Rayleigh–Ritz step (see <see cref="Unlock"/>).
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
    /// measurements (dense ≈ 8e-11·n³ s since the float32 back-transformation: 0.56 s at n = 2 000; an iteration ≈ 2n²b flops of float32 GEMM plus three b×b float64
    /// decompositions, about 8–12 iterations at the default tolerance).
    /// </summary>
    public static bool Pays(int n, int k)
    {
        int b = BlockSize(k);
        if (k == 0 || n < MinSize || 2 * b > n) return false;
        double dense = 8e-11 * n * (double)n * n;
        double iterative = 12 * (2.0 * n * n * b / 250e9 + 4e-10 * b * (double)b * b);
        return iterative < dense;
    }

    /// <summary>
    /// Returns null when the block cannot be kept linearly independent (A's rank is below the block size).
    /// Converged wanted pairs are locked: their vectors leave the iterated block (which is kept orthogonal to them),
    /// so late iterations multiply A by only the pairs still converging — on clustered kernel spectra more than half
    /// of the top pairs converge in the first few iterations.
    /// </summary>
    /// <param name="a">The symmetric matrix (validated by the caller).</param>
    /// <param name="k">Number of wanted pairs.</param>
    /// <param name="tolerance">Residual bound relative to ‖A‖₂ (estimated by the largest Ritz value magnitude).</param>
    /// <param name="maxIterations">Iterations before giving up with an exception naming the worst pair.</param>
    /// <param name="lockedPerIteration">If given, receives the number of locked pairs after each iteration (tests).</param>
    /// <param name="context">Threads and SIMD path (default: all cores, widest path).</param>
    /// <param name="nullIfNotConverged">Return null instead of throwing when <paramref name="maxIterations"/> run out.</param>
    public static EigenDecomposition? Run(MatrixView a, int k, double tolerance, int maxIterations = DefaultMaxIterations,
        List<int>? lockedPerIteration = null, ComputeContext? context = null, bool nullIfNotConverged = false)
    {
        int n = a.Rows, b = BlockSize(k);
        var space = new Workspace(n, b, context ?? ComputeContext.Default);
        Matrix.RandomNormal(n, b, Seed).Data.CopyTo(space.V, 0);
        var v = Workspace.View(space.V, n, b);
        if (!Orthonormalize(v, space)) return null;
        var locked = new Matrix(n, k);          // converged eigenvectors, one column per locked pair
        var lockedValues = new double[k];
        int l = 0;
        double norm = 0, worst = double.PositiveInfinity, best = double.PositiveInfinity;
        int worstIndex = 0, stalled = 0, unlocks = 0;
        for (int iteration = 1; iteration <= maxIterations; iteration++)
        {
            int m = v.Columns, wanted = k - l;
            var w = Workspace.View(space.W, n, m);
            var x = Workspace.View(space.X, n, m);
            var h = Workspace.View(space.H, m, m);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, a, v, 0f, w, space.Context);            // W = A·V
            Gemm.Compute(Transpose.Yes, Transpose.No, 1f, v, w, 0f, h, space.Context);           // H = Vᵀ·A·V
            // The projected problem, in float64, descending; U comes back as a float32 m×m matrix.
            var (theta, u) = SymmetricEigen.Dense(h, m, space.Context, ReductionPrecision.Double);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, v, u, 0f, x, space.Context);            // X = V·U (Ritz vectors)
            Gemm.Compute(Transpose.No, Transpose.No, 1f, w, u, 0f, v, space.Context);            // A·X, the next block
            norm = Math.Max(norm, Math.Max(Math.Abs(theta[0]), Math.Abs(theta[m - 1])));
            var residual = Residuals(x, v, theta, wanted);
            var converged = new bool[m];
            int newlyLocked = 0;
            worst = 0;
            for (int j = 0; j < wanted; j++)
            {
                if (residual[j] <= tolerance * norm || norm == 0) { converged[j] = true; newlyLocked++; }
                else if (residual[j] > worst) { worst = residual[j]; worstIndex = j; }
            }
            if (newlyLocked > 0)
            {
                for (int i = 0; i < n; i++)
                {
                    var xr = x.Row(i);
                    var lr = locked.Row(i);
                    for (int j = 0, t = l; j < wanted; j++)
                        if (converged[j]) lr[t++] = xr[j];
                }
                for (int j = 0, t = l; j < wanted; j++)
                    if (converged[j]) lockedValues[t++] = theta[j];
                l += newlyLocked;
            }
            lockedPerIteration?.Add(l);
            if (l == k) return Sorted(lockedValues, locked);
            worst /= norm;
            // The next block: A·X for the pairs still iterating, orthogonalised against the locked vectors (A's
            // action amplifies any locked component by λ_locked/θ, so it is removed every iteration).
            if (newlyLocked > 0) v = DropColumns(v, converged, m - newlyLocked, space.Tmp);
            if (l > 0)
            {
                var q = locked.View.Block(0, 0, n, l);
                var p = new Matrix(l, v.Columns);
                Gemm.Compute(Transpose.Yes, Transpose.No, 1f, q, v, 0f, p, space.Context);
                Gemm.Compute(Transpose.No, Transpose.No, -1f, q, p, 1f, v, space.Context);
            }
            if (!Orthonormalize(v, space)) return null;
            // A pair locked with residual r carries components of size r/gap along its neighbours; in a flat tail
            // (CIFAR-10 Laplace, top 501 of 5 000: gaps ~1e-3 of the tolerance) the locked vectors then hold parts
            // of the pairs still iterating, which the orthogonalisation removes every iteration: those pairs stall.
            // Unlocking (one Rayleigh–Ritz over the locked vectors and the block together) re-separates them.
            if (worst < 0.95 * best) { best = worst; stalled = 0; }
            else if (++stalled == StallIterations && unlocks < MaxUnlocks && l > 0)
            {
                v = Unlock(locked, l, v, space);
                l = 0;
                unlocks++;
                stalled = 0;
                best = double.PositiveInfinity;
            }
        }
        if (nullIfNotConverged) return null;
        throw new InvalidOperationException(
            $"The top-{k} eigensolver did not converge in {maxIterations} subspace iterations: eigenpair {l + worstIndex + 1} still has " +
            $"relative residual {worst:G3} (tolerance {tolerance:G3}; {l} of {k} pairs converged).");
    }

    /// <summary>Iterations without a 5 % fall of the worst residual before the locked pairs rejoin the block.</summary>
    private const int StallIterations = 4;

    /// <summary>Unlocks allowed per call; a pair that still stalls afterwards goes to the dense path.</summary>
    private const int MaxUnlocks = 2;

    /// <summary>The block [locked vectors | v] (orthonormal: v is kept orthogonal to the locked vectors), in V's storage.</summary>
    private static MatrixView Unlock(Matrix locked, int l, MatrixView v, Workspace space)
    {
        int n = v.Rows, m = v.Columns;
        var kept = Workspace.View(space.Tmp, n, m);
        v.CopyTo(kept);
        var block = Workspace.View(space.V, n, l + m);
        for (int i = 0; i < n; i++)
        {
            locked.Row(i)[..l].CopyTo(block.Row(i));
            kept.Row(i).CopyTo(block.Row(i)[l..]);
        }
        return block;
    }

    /// <summary>
    /// The iteration's buffers, allocated once for the full block (n×b and b×b) and viewed with as many columns as
    /// the block has left: fresh multi-megabyte arrays per iteration would cost more in page faults than the copies.
    /// </summary>
    private sealed class Workspace(int n, int b, ComputeContext context)
    {
        public ComputeContext Context { get; } = context;
        public readonly float[] V = new float[(long)n * b], W = new float[(long)n * b], X = new float[(long)n * b], Tmp = new float[(long)n * b];
        public readonly float[] H = new float[(long)b * b], G = new float[(long)b * b], T = new float[(long)b * b];

        /// <summary>A compact rows × columns view of the buffer's start.</summary>
        public static MatrixView View(float[] buffer, int rows, int columns) => new(buffer, 0, rows, columns, columns);
    }

    /// <summary>
    /// The columns of m whose flag is false, in order, compacted in place (through <paramref name="scratch"/>) into
    /// a view of m's storage with <paramref name="count"/> columns.
    /// </summary>
    private static MatrixView DropColumns(MatrixView m, bool[] drop, int count, float[] scratch)
    {
        var target = Workspace.View(scratch, m.Rows, count);
        for (int i = 0; i < m.Rows; i++)
        {
            var source = m.Row(i);
            var row = target.Row(i);
            for (int j = 0, t = 0; j < source.Length; j++)
                if (!drop[j]) row[t++] = source[j];
        }
        var result = Workspace.View(m.Storage, m.Rows, count);
        target.CopyTo(result);
        return result;
    }

    /// <summary>The locked pairs in descending order of value (pairs lock in the order they converge).</summary>
    private static EigenDecomposition Sorted(double[] values, Matrix vectors)
    {
        int k = values.Length, n = vectors.Rows;
        var order = Enumerable.Range(0, k).OrderByDescending(j => values[j]).ToArray();
        var sortedVectors = new Matrix(n, k);
        for (int i = 0; i < n; i++)
        {
            var source = vectors.Row(i);
            var target = sortedVectors.Row(i);
            for (int j = 0; j < k; j++) target[j] = source[order[j]];
        }
        return new EigenDecomposition(order.Select(j => values[j]).ToArray(), sortedVectors);
    }

    /// <summary>‖A·x_j − θ_j·x_j‖ for the first k columns, accumulated in float64.</summary>
    private static double[] Residuals(MatrixView x, MatrixView ax, double[] theta, int k)
    {
        var residual = new double[k];
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
        return residual;
    }

    /// <summary>
    /// Replaces the columns of V by an orthonormal basis of their span: unit columns, then V ← V·S·Λ^(−1/2) from the
    /// float64 eigen-decomposition of the Gram matrix VᵀV = SΛSᵀ — twice when the first pass's expected loss of
    /// orthogonality, u·κ(VᵀV)·√b (float32 u; the Gram's rounding is a random-walk sum), exceeds 1e-4. Returns false
    /// when VᵀV is numerically singular.
    /// </summary>
    private static bool Orthonormalize(MatrixView v, Workspace space)
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
        var g = Workspace.View(space.G, b, b);
        var t = Workspace.View(space.T, b, b);
        var tmp = Workspace.View(space.Tmp, n, b);
        for (int pass = 0; pass < 2; pass++)
        {
            Gemm.SymmetricRankK(Transpose.Yes, 1f, v, 0f, g, space.Context);
            var gd = new double[(long)b * b];
            for (long i = 0; i < gd.Length; i++) gd[i] = space.G[i];
            var (lambda, s) = SymmetricEigen.Decompose(gd, b, space.Context);
            double max = lambda.Max(), min = lambda.Min();
            // float32 Gram entries carry errors of ~n·u relative; below that the direction is lost.
            if (!(min > 1e-5 * max)) return false;
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) t[i, j] = (float)(s[(long)i * b + j] / Math.Sqrt(lambda[j]));
            Gemm.Compute(Transpose.No, Transpose.No, 1f, v, t, 0f, tmp, space.Context);
            tmp.CopyTo(v);
            if (max / min * 6e-8 * Math.Sqrt(b) < 1e-4) break;
        }
        return true;
    }
}
