using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Preconditioning;

/// <summary>How β, the bound on the kernel's diagonal that the step rules divide by, is estimated on the Nyström subsample.</summary>
public enum BetaEstimate
{
    /// <summary>β = max k(x, x) over the subsample: the reference code's rule since November 2022 (spec eigenpro.md §1.4).</summary>
    KernelDiagonal,

    /// <summary>
    /// β = the largest diagonal entry of the preconditioned kernel on the subsample,
    /// max_i [k(sᵢ, sᵢ) − s·Σⱼ (1 − (λ_tail/λⱼ)^α)·λⱼ·Uᵢⱼ²]: the SysML 2019 paper's β (§1.4's "2019 variant"), written
    /// for any k(x, x). A step sees the preconditioned kernel, whose diagonal is what bounds a sample's step; where
    /// k(x, x) varies with ‖x‖ (NTK), the flattened top directions carry most of it and this β is far smaller.
    /// </summary>
    PreconditionedDiagonal,
}

/// <summary>The names a <see cref="BetaEstimate"/> goes by in settings, JSON and on the command line.</summary>
public static class BetaEstimates
{
    /// <summary>"kernel-diagonal" and "preconditioned-diagonal", in the enum's order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["kernel-diagonal", "preconditioned-diagonal"];

    /// <summary>The estimate's name.</summary>
    public static string Name(BetaEstimate estimate) => Names[(int)estimate];

    /// <summary>The estimate called <paramref name="name"/>, or null for null or an unknown name.</summary>
    public static BetaEstimate? Parse(string? name)
    {
        for (int i = 0; i < Names.Count; i++)
            if (Names[i] == name) return (BetaEstimate)i;
        return null;
    }
}

/// <summary>Settings of a <see cref="NystromPreconditioner"/>.</summary>
public sealed record NystromOptions
{
    /// <summary>Nyström subsample size s (clamped to the number of points).</summary>
    public required int SubsampleSize { get; init; }

    /// <summary>
    /// Number of flattened eigen-directions k (the tail eigenvalue is λ_{k+1}). Null chooses k by the EigenPro 2
    /// rule (§1.5) from <see cref="MaxBatchSize"/>.
    /// </summary>
    public int? Directions { get; init; }

    /// <summary>Damping exponent α of the flattening (0.95 for EigenPro 2, 1 for EigenPro 3/4).</summary>
    public double DampingExponent { get; init; } = 1.0;

    /// <summary>Largest batch the caller can afford; bounds the automatic choice of k (§1.5).</summary>
    public int MaxBatchSize { get; init; } = int.MaxValue;

    /// <summary>At most this many eigenpairs are computed for the automatic choice (§1.11: min(s − 1, 1000)).</summary>
    public int MaxEigenpairs { get; init; } = 1000;

    /// <summary>Batch- and step-size rule (default: SGD's regimes around β/λ₁′ + 1, EigenPro 2's).</summary>
    public StepRule StepRule { get; init; } = new TopEigenvalueStepRule();

    /// <summary>Which β the step rule uses (default: the reference's max k(x, x)).</summary>
    public BetaEstimate Beta { get; init; } = BetaEstimate.KernelDiagonal;

    /// <summary>Seed of the subsample draw (stream <see cref="SeedStreams.NystromSample"/> of it; see <see cref="NystromPreconditioner.DrawSubsample"/>).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Working-memory budget for the s × s kernel block.</summary>
    public MemoryBudget? Budget { get; init; }

    /// <summary>Threads and SIMD path of the kernel block, the eigensolver and every correction (default: all cores, widest path).</summary>
    public ComputeContext? Compute { get; init; }

    /// <summary>
    /// The subsample itself, as distinct indices into the points (SubsampleSize of them), instead of a draw from
    /// <see cref="Seed"/>: a recorder pins the subsample so that every snapshot sees the same points.
    /// </summary>
    public IReadOnlyList<int>? SubsampleIndices { get; init; }
}

/// <summary>
/// The EigenPro preconditioner built from a Nyström subsample S of s points: the top eigenpairs (λᵢ, uᵢ) of
/// K(S, S)/s flatten the top k directions of the kernel operator down to the tail eigenvalue λ_{k+1}
/// (spec eigenpro.md §1.4–1.7, §2.3, §3.3; one map for every version, §8).
/// The correction to a gradient G on a batch X_b is <c>U·diag(r)·Uᵀ·K(S, X_b)·G</c> with
/// <c>rᵢ = (1 − (λ_{k+1}/λᵢ)^α) / (λᵢ·s)</c> and unit-norm U, added to the weights of the subsample points.
/// </summary>
public sealed class NystromPreconditioner
{
    private readonly float[] _coefficients;
    private readonly ComputeContext _compute;

    private NystromPreconditioner(Kernel kernel, int[] indices, KernelRows subsample, double[] spectrum, Matrix vectors,
        int directions, double[] diagonal, NystromOptions options)
    {
        Kernel = kernel;
        SubsampleIndices = indices;
        Subsample = subsample;
        Spectrum = spectrum;
        Eigenvectors = vectors;
        Directions = directions;
        DampingExponent = options.DampingExponent;
        StepRule = options.StepRule ?? throw new ArgumentException("The step rule is null.", nameof(options));
        _compute = options.Compute ?? ComputeContext.Default;
        int s = indices.Length;
        TailEigenvalue = spectrum[directions];
        var coefficients = new double[directions];
        _coefficients = new float[directions];
        for (int i = 0; i < directions; i++)
        {
            double li = spectrum[i];
            coefficients[i] = (1 - Math.Pow(TailEigenvalue / li, DampingExponent)) / (li * s);
            _coefficients[i] = (float)coefficients[i];
        }
        Coefficients = coefficients;
        // λ₁′ = λ₁ / (λ₁/λ_tail)^α: the top eigenvalue after flattening (§1.6, oracle §7.2).
        TopEigenvalue = directions == 0 ? spectrum[0] : spectrum[0] / Math.Pow(spectrum[0] / TailEigenvalue, DampingExponent);
        MaxKernelDiagonal = diagonal.Max();
        MaxPreconditionedDiagonal = PreconditionedDiagonal(diagonal).Max();
        BetaEstimate = options.Beta;
        Beta = options.Beta switch
        {
            BetaEstimate.KernelDiagonal => MaxKernelDiagonal,
            BetaEstimate.PreconditionedDiagonal => MaxPreconditionedDiagonal,
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Beta, "Unknown β estimate."),
        };
        if (!(Beta > 0))
            throw new InvalidOperationException($"The step rule's β ({BetaEstimate}) is {Beta:G3} on this subsample; is the kernel degenerate on this data?");
    }

    /// <summary>
    /// The diagonal of the preconditioned kernel at the subsample points (§1.4, SysML 2019): on S the preconditioned
    /// kernel matrix is K(S, S) − Σⱼ (1 − (λ_tail/λⱼ)^α)·s·λⱼ·uⱼuⱼᵀ, positive semi-definite with eigenvalues s·λ_tail
    /// on the flattened directions, so its diagonal is non-negative (entries are clamped at 0 against rounding).
    /// </summary>
    private double[] PreconditionedDiagonal(double[] diagonal)
    {
        int s = diagonal.Length;
        var weights = new double[Directions];
        for (int j = 0; j < Directions; j++) weights[j] = (1 - Math.Pow(TailEigenvalue / Spectrum[j], DampingExponent)) * s * Spectrum[j];
        var result = new double[s];
        for (int i = 0; i < s; i++)
        {
            var u = Eigenvectors.Row(i);
            double flattened = 0;
            for (int j = 0; j < Directions; j++) flattened += weights[j] * u[j] * u[j];
            result[i] = Math.Max(0, diagonal[i] - flattened);
        }
        return result;
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>Indices of the subsample points among the points the preconditioner was built on.</summary>
    public IReadOnlyList<int> SubsampleIndices { get; }

    /// <summary>The subsample points, prepared for the kernel.</summary>
    public KernelRows Subsample { get; }

    /// <summary>Subsample size s.</summary>
    public int SubsampleSize => SubsampleIndices.Count;

    /// <summary>The computed eigenvalues of K(S, S)/s, descending (at least k + 1 of them).</summary>
    public IReadOnlyList<double> Spectrum { get; }

    /// <summary>Unit-norm eigenvectors of K(S, S)/s for the flattened directions (s × k, column i ↔ λᵢ).</summary>
    public Matrix Eigenvectors { get; }

    /// <summary>Number k of flattened directions.</summary>
    public int Directions { get; }

    /// <summary>λ_{k+1}, the first eigenvalue not flattened.</summary>
    public double TailEigenvalue { get; }

    /// <summary>λ₁′ = λ₁^(1−α)·λ_tail^α, the top eigenvalue of the preconditioned operator.</summary>
    public double TopEigenvalue { get; }

    /// <summary>β of the step rules: <see cref="MaxKernelDiagonal"/> or <see cref="MaxPreconditionedDiagonal"/>, as <see cref="BetaEstimate"/> says.</summary>
    public double Beta { get; }

    /// <summary>Which estimate <see cref="Beta"/> is.</summary>
    public BetaEstimate BetaEstimate { get; }

    /// <summary>max k(x, x) over the subsample (the reference's β).</summary>
    public double MaxKernelDiagonal { get; }

    /// <summary>The largest diagonal entry of the preconditioned kernel on the subsample (the SysML 2019 paper's β).</summary>
    public double MaxPreconditionedDiagonal { get; }

    /// <summary>Damping exponent α.</summary>
    public double DampingExponent { get; }

    /// <summary>The step-size rule.</summary>
    public StepRule StepRule { get; }

    /// <summary>rᵢ = (1 − (λ_tail/λᵢ)^α)/(λᵢ·s), in float64.</summary>
    public IReadOnlyList<double> Coefficients { get; }

    /// <summary>The critical batch size of the step rule (never below 1).</summary>
    public int CriticalBatchSize => StepRule.CriticalBatchSize(Beta, TopEigenvalue, TailEigenvalue);

    /// <summary>The step applied per sample of a batch of <paramref name="batchSize"/> (the reference's η/b).</summary>
    public double StepSize(int batchSize) => StepRule.StepSize(batchSize, Beta, TopEigenvalue, TailEigenvalue);

    /// <summary>
    /// correction = U·diag(r)·Uᵀ·(K(X_b, S)ᵀ·G), written into <paramref name="output"/> (s × c), from the kernel
    /// block <paramref name="batchBySubsample"/> = K(X_b, S) and the batch gradient <paramref name="gradient"/> (b × c):
    /// <see cref="Project"/> then <see cref="Lift"/>. Allocates its two small intermediates; a training loop keeps
    /// them instead (<see cref="Solvers.EigenProIteration"/>).
    /// </summary>
    public void Correction(MatrixView batchBySubsample, MatrixView gradient, MatrixView output)
    {
        var projected = new Matrix(Directions, gradient.Columns);
        Project(batchBySubsample, gradient, projected, new Matrix(SubsampleSize, gradient.Columns));
        Lift(projected, output, new Matrix(Directions, gradient.Columns));
    }

    /// <summary>
    /// output (k × c) = Uᵀ·K(S, X_b)·G, computed as Uᵀ·(K(X_b, S)ᵀ·G) through <paramref name="scratch"/> (s × c): the
    /// batch gradient seen by the flattened directions. Caller-owned buffers; nothing is allocated.
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not fit s, k or the gradient.</exception>
    public void Project(MatrixView batchBySubsample, MatrixView gradient, MatrixView output, MatrixView scratch)
    {
        int s = SubsampleSize, c = gradient.Columns;
        Guard.Shape(batchBySubsample, gradient.Rows, s, nameof(batchBySubsample));
        Guard.Shape(output, Directions, c, nameof(output));
        Guard.Shape(scratch, s, c, nameof(scratch));
        if (Directions == 0) return;
        Gemm.Compute(Transpose.Yes, Transpose.No, 1f, batchBySubsample, gradient, 0f, scratch, _compute);
        Gemm.Compute(Transpose.Yes, Transpose.No, 1f, Eigenvectors, scratch, 0f, output, _compute);
    }

    /// <summary>
    /// output (s × c) = U·diag(r)·projected: the correction to the subsample's weights, through <paramref name="scratch"/>
    /// (k × c) = diag(r)·projected. <paramref name="projected"/> (k × c, from <see cref="Project"/>) is left as it is.
    /// Caller-owned buffers; nothing is allocated.
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not fit s, k or the projection.</exception>
    public void Lift(MatrixView projected, MatrixView output, MatrixView scratch)
    {
        int c = projected.Columns;
        Guard.Shape(projected, Directions, c, nameof(projected));
        Guard.Shape(output, SubsampleSize, c, nameof(output));
        Guard.Shape(scratch, Directions, c, nameof(scratch));
        if (Directions == 0) { output.Fill(0f); return; }
        for (int i = 0; i < Directions; i++)
            System.Numerics.Tensors.TensorPrimitives.Multiply(projected.Row(i), _coefficients[i], scratch.Row(i));
        Gemm.Compute(Transpose.No, Transpose.No, 1f, Eigenvectors, scratch, 0f, output, _compute);
    }

    /// <summary>
    /// output (p × k) = K(Z, S)·U·diag(r) from <paramref name="pointsBySubsample"/> = K(Z, S) (p × s): the lift
    /// evaluated at other points, which EigenPro 3 precomputes once for its centers (spec eigenpro.md §2.3).
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not fit s or k.</exception>
    public void LiftAt(MatrixView pointsBySubsample, MatrixView output)
    {
        Guard.Columns(pointsBySubsample, SubsampleSize, nameof(pointsBySubsample));
        Guard.Shape(output, pointsBySubsample.Rows, Directions, nameof(output));
        if (Directions == 0) return;
        Gemm.Compute(Transpose.No, Transpose.No, 1f, pointsBySubsample, Eigenvectors, 0f, output, _compute);
        for (int i = 0; i < output.Rows; i++)
            System.Numerics.Tensors.TensorPrimitives.Multiply(output.Row(i), _coefficients, output.Row(i));
    }

    private static int[] CheckIndices(IReadOnlyList<int> given, int s, int n)
    {
        if (given.Count != s)
            throw new ArgumentException($"Expected {s} subsample indices (the subsample size), found {given.Count}.", "options");
        var seen = new HashSet<int>();
        foreach (int i in given)
        {
            if (i < 0 || i >= n) throw new ArgumentException($"Subsample index {i} is outside the {n} points.", "options");
            if (!seen.Add(i)) throw new ArgumentException($"Subsample index {i} appears twice.", "options");
        }
        return [.. given];
    }

    /// <summary>
    /// Builds the preconditioner on <paramref name="points"/> (the training points or the centers): draws s of them
    /// with the seed, computes the top eigenpairs of K(S, S)/s in float64 and chooses k.
    /// </summary>
    /// <exception cref="ArgumentException">The subsample size or k is out of range.</exception>
    public static NystromPreconditioner Build(KernelRows points, NystromOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(points);
        return Build(points.Kernel, points.Count, ids =>
        {
            var rows = new Matrix(ids.Length, points.Dimension);
            for (int i = 0; i < ids.Length; i++) points.Points.Row(ids[i]).CopyTo(rows.Row(i));
            return rows;
        }, options, cancellationToken);
    }

    /// <summary>The same, on n points of which only the subsample is ever read (<paramref name="gather"/> copies rows by index).</summary>
    internal static NystromPreconditioner Build(Kernel kernel, int n, Func<int[], Matrix> gather, NystromOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (n < 2) throw new ArgumentException($"A Nyström preconditioner needs at least 2 points, found {n}.", "points");
        if (options.SubsampleSize < 2) throw new ArgumentException($"The subsample size must be at least 2, found {options.SubsampleSize}.", nameof(options));
        if (options.SubsampleSize > n)
            throw new ArgumentException($"The subsample size {options.SubsampleSize} exceeds the {n} available points.", nameof(options));
        if (!(options.DampingExponent > 0 && options.DampingExponent <= 1))
            throw new ArgumentException($"The damping exponent must be in (0, 1], found {options.DampingExponent}.", nameof(options));
        int s = options.SubsampleSize;
        if (options.Directions is int k0 && (k0 < 0 || k0 > s - 1))
            throw new ArgumentException($"The number of directions must be in [0, s − 1 = {s - 1}], found {k0}.", nameof(options));

        var indices = options.SubsampleIndices is { } given ? CheckIndices(given, s, n) : DrawSubsample(n, s, options.Seed);
        Array.Sort(indices);
        var subsamplePoints = gather(indices);
        var compute = options.Compute ?? ComputeContext.Default;
        var subsample = kernel.Prepare(subsamplePoints, "subsample", compute);

        var diagonal = new double[s];
        for (int i = 0; i < s; i++) diagonal[i] = kernel.Diagonal(subsamplePoints.Row(i));

        var budget = options.Budget ?? MemoryBudget.Default;
        int wanted = options.Directions is int k1 ? k1 + 1 : Math.Min(s - 1, options.MaxEigenpairs);
        budget.Require($"The Nyström preconditioner on {s} points (lower the subsample size)", SetupParts(s, Math.Max(wanted, 2)));
        cancellationToken.ThrowIfCancellationRequested();
        var ks = new Matrix(s, s);
        kernel.EvaluateSymmetric(subsample, ks, compute);
        float inv = 1f / s;
        for (int i = 0; i < ks.Data.Length; i++) ks.Data[i] *= inv;

        // The float64 reduction: the tail eigenvalue λ_q sets the step size and sits far below λ₁, where a float32
        // reduction's error (≈ s·u·λ₁) would be a visible fraction of it.
        var eig = SymmetricEigen.Top(ks, Math.Max(wanted, 2), context: compute, precision: ReductionPrecision.Double);
        var spectrum = eig.Values;
        if (!(spectrum[0] > 0)) throw new InvalidOperationException($"The Nyström kernel matrix has no positive eigenvalue (λ₁ = {spectrum[0]:G3}); is the kernel degenerate on this data?");
        int directions = options.Directions ?? AutoDirections(spectrum, options.DampingExponent, s, options.MaxBatchSize);
        // Directions with a non-positive eigenvalue (rank-deficient subsample) cannot be flattened.
        while (directions > 0 && !(spectrum[directions] > 0)) directions--;
        var vectors = new Matrix(s, directions);
        eig.Vectors.View.Block(0, 0, s, directions).CopyTo(vectors);
        return new NystromPreconditioner(kernel, indices, subsample, spectrum, vectors, directions, diagonal, options);
    }

    /// <summary>
    /// What building a preconditioner on <paramref name="s"/> points holds at its peak: K(S, S)/s and the eigensolver's
    /// workspace for <paramref name="eigenpairs"/> pairs (the dense path's float64 copy: the subspace path needs less,
    /// but falls back to it).
    /// </summary>
    public static (string Part, long Bytes)[] SetupParts(int s, int eigenpairs) =>
        [($"the {s}×{s} Nyström kernel matrix", 4L * s * s), ("its eigensolver", SymmetricEigen.TopWorkspaceBytes(s, eigenpairs))];

    /// <summary>What the preconditioner holds once built: the prepared subsample and the s × k eigenvectors.</summary>
    public long Bytes => 4L * ((long)Subsample.Count * (Subsample.Dimension + 1) + (long)Eigenvectors.Rows * Eigenvectors.Columns);

    /// <summary>
    /// The subsample <see cref="Build(KernelRows, NystromOptions, CancellationToken)"/> draws from <paramref name="seed"/>
    /// when none is given: <paramref name="s"/> distinct indices of <paramref name="n"/>, sorted, from the seed's
    /// <see cref="SeedStreams.NystromSample"/> stream — independent of the epoch shuffles drawn from the same seed.
    /// </summary>
    public static int[] DrawSubsample(int n, int s, int seed)
    {
        if (s < 0 || s > n) throw new ArgumentOutOfRangeException(nameof(s), s, $"Expected 0 <= s <= n = {n}.");
        var indices = Preprocessing.Permutation(n, SeedStreams.Create(seed, SeedStreams.NystromSample))[..s];
        Array.Sort(indices);
        return indices;
    }

    /// <summary>
    /// EigenPro 2's automatic q (§1.5): q = #{i : λᵢ^(−α) &lt; max_bs} − 1, at least 5, with max_bs = min(max(s/5, bs_mem), s);
    /// q − 1 directions are flattened (tail λ_q).
    /// </summary>
    internal static int AutoDirections(double[] spectrum, double alpha, int s, int maxBatch)
    {
        double maxBs = Math.Min(Math.Max(s / 5.0, maxBatch), s);
        int q = spectrum.Count(l => l > 0 && Math.Pow(l, -alpha) < maxBs) - 1;
        q = Math.Max(q, 5);
        return Math.Clamp(q - 1, 0, spectrum.Length - 1);
    }
}
