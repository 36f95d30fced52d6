using EigenProNet.LinearAlgebra;

namespace EigenProNet.Dynamics;

/// <summary>Subspace change of the leading k eigenvectors over time.</summary>
/// <param name="K">Subspace dimension.</param>
/// <param name="FromStart">Projection distance between t = first snapshot and t, per snapshot.</param>
/// <param name="Consecutive">Projection distance from the previous snapshot (0 for the first).</param>
/// <param name="LargestAngleFromStart">Largest principal angle (radians) from the first snapshot.</param>
public sealed record SubspaceChange(int K, double[] FromStart, double[] Consecutive, double[] LargestAngleFromStart);

/// <summary>The metrics of a recorded run (spec dynamics.md §3), from-original and consecutive.</summary>
/// <param name="Times">t of each snapshot.</param>
/// <param name="Subspaces">Per k in the options (and k itself): projection distances and largest angles.</param>
/// <param name="SumChange">[snapshot][j]: the study's Σe_t − Σe_0 per eigenvector (after the sign convention).</param>
/// <param name="OverlapFromStart">[snapshot][j]: 1 − |⟨e_0^j, e_t^j⟩|.</param>
/// <param name="EigenvalueChange">[snapshot][j]: |λ_t − λ_0| / λ_0.</param>
/// <param name="LearnedFraction">[snapshot][j]: ρ_j(t).</param>
/// <param name="CeasedAt">First t after which every consecutive distance of the largest reported subspace stays below the tolerance; null if it never did.</param>
/// <param name="CeaseDimension">The k <paramref name="CeasedAt"/> refers to.</param>
/// <param name="KernelFixed">True when no snapshot saw a new kernel: the data eigensystem could not move (EigenPro's fixed kernel).</param>
public sealed record DynamicsMetrics(int[] Times, IReadOnlyList<SubspaceChange> Subspaces, double[][] SumChange, double[][] OverlapFromStart,
    double[][] EigenvalueChange, double[][] LearnedFraction, int? CeasedAt, int CeaseDimension, bool KernelFixed)
{
    /// <summary>Time of each snapshot in epochs (fractional for a network's steps; t itself for EigenPro and RFM).</summary>
    public double[] Epochs { get; init; } = [];

    /// <summary>Kernel distance 1 − ⟨K_t, K_0⟩_F/(‖K_t‖_F‖K_0‖_F) per snapshot (NaN where a run predates it).</summary>
    public double[] KernelDistanceFromStart { get; init; } = [];

    /// <summary>Relative Frobenius change ‖K_t − K_0‖_F/‖K_0‖_F per snapshot (scale included; NaN where a run predates it).</summary>
    public double[] KernelRelativeChangeFromStart { get; init; } = [];

    /// <summary>Kernel distance to the previous snapshot.</summary>
    public double[] KernelDistanceConsecutive { get; init; } = [];

    /// <summary>
    /// Kernel velocity (Fort et al. 2020): the distance to the previous snapshot per epoch of time between them (0 for the
    /// first snapshot).
    /// </summary>
    public double[] KernelVelocity { get; init; } = [];

    /// <summary>Kernel–target alignment ⟨K_t, YYᵀ⟩_F/(‖K_t‖_F‖YYᵀ‖_F) per snapshot.</summary>
    public double[] KernelTargetAlignment { get; init; } = [];

    /// <summary>Per subspace dimension k (those of <see cref="Subspaces"/>): the fraction of ‖Y_s‖² in the top-k eigenvectors, per snapshot.</summary>
    public IReadOnlyDictionary<int, double[]> TargetCaptured { get; init; } = new Dictionary<int, double[]>();

    /// <summary>Computes every metric of <paramref name="snapshots"/> (in time order).</summary>
    /// <exception cref="ArgumentException">No snapshots, or snapshots on subsamples of different sizes.</exception>
    /// <param name="snapshots">The snapshots, in time order.</param>
    /// <param name="options">Subspace dimensions and the cease tolerance.</param>
    /// <param name="context">Threads and SIMD path.</param>
    /// <param name="perEigenvector">Also the per-eigenvector metrics (Σ-change, overlap, eigenvalue change); false leaves those empty.</param>
    /// <param name="earlier">Metrics of a prefix of the same snapshots (the previous call during recording): their subspace
    /// distances are taken as they are instead of being recomputed, so recording T snapshots costs O(T), not O(T²).</param>
    public static DynamicsMetrics Compute(IReadOnlyList<DynamicsSnapshot> snapshots, DynamicsOptions? options = null, ComputeContext? context = null,
        bool perEigenvector = true, DynamicsMetrics? earlier = null)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        if (snapshots.Count == 0) throw new ArgumentException("No snapshots to compare.", nameof(snapshots));
        options ??= new DynamicsOptions();
        var first = snapshots[0];
        int k = snapshots.Min(s => s.Eigenvectors.Columns);
        var dims = options.SubspaceDimensions.Where(d => d >= 1 && d < k).Append(k).Distinct().Order().ToArray();
        var subspaces = new List<SubspaceChange>();
        foreach (int d in dims)
        {
            var fromStart = new double[snapshots.Count];
            var consecutive = new double[snapshots.Count];
            var angle = new double[snapshots.Count];
            int reuse = 0;
            if (earlier?.Subspaces.FirstOrDefault(x => x.K == d) is { } known && earlier.Times.Length <= snapshots.Count)
            {
                reuse = earlier.Times.Length;
                known.FromStart.CopyTo(fromStart, 0);
                known.Consecutive.CopyTo(consecutive, 0);
                known.LargestAngleFromStart.CopyTo(angle, 0);
            }
            for (int t = Math.Max(1, reuse); t < snapshots.Count; t++)
            {
                // The same eigensystem object (a kernel that did not change): no change, exactly.
                if (ReferenceEquals(snapshots[t].Eigenvectors, first.Eigenvectors)) continue;
                var angles = EigenvectorChange.PrincipalAngles(first.Eigenvectors, snapshots[t].Eigenvectors, d, context);
                angle[t] = angles[^1];
                fromStart[t] = Math.Sqrt(2 * angles.Sum(a => Math.Sin(a) * Math.Sin(a)));
                consecutive[t] = ReferenceEquals(snapshots[t].Eigenvectors, snapshots[t - 1].Eigenvectors) ? 0
                    : EigenvectorChange.ProjectionDistance(snapshots[t - 1].Eigenvectors, snapshots[t].Eigenvectors, d, context);
            }
            subspaces.Add(new SubspaceChange(d, fromStart, consecutive, angle));
        }
        // The same eigensystem object as the first snapshot's (a fixed kernel): no change, exactly, and nothing to compute.
        bool Same(DynamicsSnapshot s) => ReferenceEquals(s.Eigenvectors, first.Eigenvectors);
        var e0 = first.Eigenvectors.View.Block(0, 0, first.Eigenvectors.Rows, k);
        var sums = !perEigenvector ? [] : snapshots.Select(s => Same(s) ? new double[k]
            : EigenvectorChange.SumChange(e0, s.Eigenvectors.View.Block(0, 0, s.Eigenvectors.Rows, k))).ToArray();
        var overlap = !perEigenvector ? [] : snapshots.Select(s => Same(s) ? new double[k] : EigenvectorChange.Overlap(e0, s.Eigenvectors)).ToArray();
        var values = !perEigenvector ? [] : snapshots.Select(s => EigenvectorChange.EigenvalueChange(first.Eigenvalues, s.Eigenvalues)).ToArray();
        var ceaseOn = subspaces.Where(s => s.K <= 100).LastOrDefault() ?? subspaces[0];
        int? ceased = EigenvectorChange.CeasedAt(ceaseOn.Consecutive.Skip(1).ToArray(), options.CeaseTolerance);
        var epochs = snapshots.Select(s => s.Time).ToArray();
        var consecutiveKernel = snapshots.Select(s => s.Kernel?.DistanceFromPrevious ?? double.NaN).ToArray();
        var velocity = new double[snapshots.Count];
        for (int t = 1; t < snapshots.Count; t++)
            velocity[t] = epochs[t] > epochs[t - 1] ? consecutiveKernel[t] / (epochs[t] - epochs[t - 1]) : double.NaN;
        return new DynamicsMetrics(snapshots.Select(s => s.T).ToArray(), subspaces, sums, overlap, values,
            snapshots.Select(s => s.LearnedFraction).ToArray(), ceased is int c ? snapshots[c].T : null, ceaseOn.K,
            snapshots.All(s => !s.KernelChanged))
        {
            Epochs = epochs,
            KernelDistanceFromStart = snapshots.Select(s => s.Kernel?.DistanceFromStart ?? double.NaN).ToArray(),
            KernelDistanceConsecutive = consecutiveKernel,
            KernelRelativeChangeFromStart = snapshots.Select(s => s.Kernel?.RelativeChangeFromStart ?? double.NaN).ToArray(),
            KernelVelocity = velocity,
            KernelTargetAlignment = snapshots.Select(s => s.Kernel?.TargetAlignment ?? double.NaN).ToArray(),
            TargetCaptured = dims.ToDictionary(d => d, d => snapshots.Select(s => s.TargetCaptured is { } c && c.Length >= d ? c[d - 1] : double.NaN).ToArray()),
        };
    }
}
