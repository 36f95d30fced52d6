using System.Buffers;
using System.Numerics.Tensors;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// A kernel of the form k(a, b) = φ(‖a − b‖²) for a (possibly Mahalanobis) norm. Squared distances come from the
/// GEMM identity ‖a‖² + ‖b‖² − 2⟨a, b⟩ with cached row norms, clamped at 0 (spec eigenpro.md §4.1).
/// </summary>
/// <remarks>
/// The identity cancels catastrophically for points that are close relative to their norms: in float32 the
/// computed value can be off by about (d + 2)·u·(‖a‖² + ‖b‖²) (u = 2⁻²⁴). Every pair whose computed squared
/// distance falls below four times that bound is recomputed directly from the difference vector, so identical
/// rows give exactly k = 1 and near-duplicates get accurate distances. Such pairs are rare in real data (the
/// self-pairs of K(X, X) are the common case), so the check costs one vectorised pass per row.
/// </remarks>
public abstract class DistanceKernel : Kernel
{
    /// <summary>Unit roundoff of float32.</summary>
    private const double Unit = 1.0 / (1 << 24);

    /// <summary>The profile φ as k = exp(Scale·t), t = ‖a − b‖ (<c>OfDistance</c>) or ‖a − b‖².</summary>
    private protected abstract (float Scale, bool OfDistance) Profile { get; }

    /// <summary>Per-row statistic: ‖x‖².</summary>
    protected sealed override void ComputeStatistics(MatrixView points, Span<float> statistics) => ComputeStatistics(points, points, statistics);

    /// <summary>Per-row statistic: the squared norm of the features (‖S·x‖² = xᵀMx for a Mahalanobis kernel).</summary>
    private protected sealed override void ComputeStatistics(MatrixView points, MatrixView features, Span<float> statistics)
    {
        for (int i = 0; i < features.Rows; i++)
        {
            var row = features.Row(i);
            double s = 0;
            foreach (float v in row) s += (double)v * v;
            statistics[i] = (float)s;
        }
    }

    /// <summary>Relative size of the float32 error of the cross term for dimension d (see remarks).</summary>
    private static double CrossErrorFactor(int dimension) => (dimension + 2) * Unit;

    /// <summary>exp(−‖a − b‖ / L): the Laplace profile shared by the Euclidean and Mahalanobis kernels.</summary>
    private protected static (float Scale, bool OfDistance) LaplaceProfile(double bandwidth) => ((float)(-1.0 / bandwidth), true);

    /// <summary>exp(−‖a − b‖² / (2L²)): the Gaussian profile shared by the Euclidean and Mahalanobis kernels.</summary>
    private protected static (float Scale, bool OfDistance) GaussianProfile(double bandwidth) => ((float)(-1.0 / (2 * bandwidth * bandwidth)), false);

    /// <summary>Distances below this count as zero for the gradient (spec rfm-and-dynamics.md §1.3: the reference's 1e-10).</summary>
    public const double GradientDistanceFloor = 1e-10;

    /// <summary>
    /// Writes the gradient weights γ(aᵢ, bⱼ) ≥ 0 into <paramref name="output"/>, defined by
    /// ∇ₐ k(a, b) = −γ(a, b)·M·(a − b) (M = I for the Euclidean kernels): γ = k/(L·‖a − b‖_M) for the Laplace profile,
    /// k/L² for the Gaussian. Pairs closer than <see cref="GradientDistanceFloor"/> — the self-terms and duplicated
    /// rows, where the Laplace kernel has no gradient — get 0 (spec rfm-and-dynamics.md §1.3). The AGOP of a fitted
    /// predictor is built from these blocks by GEMMs.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree or the rows were prepared for another kernel.</exception>
    public void EvaluateGradientWeights(KernelRows a, KernelRows b, MatrixView output, ComputeContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!ReferenceEquals(a.Kernel, this) || !ReferenceEquals(b.Kernel, this))
            throw new ArgumentException($"Rows must be prepared by {this}; call Prepare on this kernel.", ReferenceEquals(a.Kernel, this) ? nameof(b) : nameof(a));
        if (a.Dimension != b.Dimension)
            throw new ArgumentException($"Expected b with {a.Dimension} features like a, found shape {b.Points.Shape}.", nameof(b));
        Guard.Shape(output, a.Count, b.Count, nameof(output));
        if (output.IsEmpty) return;
        Compute(a, b, output, context ?? ComputeContext.Default, null, gradientWeights: true);
    }

    protected sealed override void ComputeBlock(KernelRows a, KernelRows b, MatrixView output, ComputeContext context, GemmEpilogue? then) =>
        Compute(a, b, output, context, then, gradientWeights: false);

    private void Compute(KernelRows a, KernelRows b, MatrixView output, ComputeContext context, GemmEpilogue? then, bool gradientWeights)
    {
        float tol = (float)(4 * CrossErrorFactor(a.Dimension));
        var (scale, ofDistance) = Profile;
        var path = context.Path;
        bool transformed = !ReferenceEquals(a.Features.Storage, a.Points.Storage);
        // The elementwise tail runs inside the GEMM on each finished block of C while it is in cache: a kernel block
        // can be hundreds of megabytes, and four passes over it in memory cost a tenth of the product.
        void Tail(int worker, int row0, int rows, int col0, int cols)
        {
            var nb = b.Statistics.Slice(col0, cols);
            float[]? squared = gradientWeights ? ArrayPool<float>.Shared.Rent(cols) : null;
            for (int i = row0; i < row0 + rows; i++)
            {
                var row = output.Row(i).Slice(col0, cols);
                float na = a.Statistics[i];
                // One fused pass: d² = max(‖a‖² + ‖b‖² − 2⟨a, b⟩, 0), and whether any pair is near enough for the
                // identity to have cancelled; those (rare) pairs are recomputed from the difference vector.
                if (DistanceTail.SquaredDistances(path, row, nb, na, tol))
                {
                    for (int j = 0; j < row.Length; j++)
                        if (row[j] <= tol * (na + nb[j]))
                            row[j] = (float)NearSquaredDistance(a, i, b, col0 + j, transformed);
                }
                if (squared is not null) row.CopyTo(squared);
                DistanceTail.Profile(path, row, scale, ofDistance);
                if (squared is not null) GradientWeights(row, squared, scale, ofDistance);
            }
            if (squared is not null) ArrayPool<float>.Shared.Return(squared);
            then?.Invoke(worker, row0, rows, col0, cols);
        }
        // The cross term ⟨S·aᵢ, S·bⱼ⟩ of the prepared features (the points themselves for the Euclidean kernels).
        Gemm.Compute(Transpose.No, Transpose.Yes, -2f, a.Features, b.Features, 0f, output, context, Tail, b.PackedFeatures);
    }

    /// <summary>
    /// ‖f(x) − f(z)‖² in float64 from the difference of the features, O(d) per pair: near pairs get an accurate
    /// distance, and identical rows exactly 0 (checked on the rows themselves when the features are transformed).
    /// </summary>
    private static double NearSquaredDistance(KernelRows a, int i, KernelRows b, int j, bool transformed)
    {
        if (transformed && a.Points.Row(i).SequenceEqual(b.Points.Row(j))) return 0;
        var fx = a.Features.Row(i);
        var fz = b.Features.Row(j);
        double s = 0;
        for (int k = 0; k < fx.Length; k++)
        {
            double v = (double)fx[k] - fz[k];
            s += v * v;
        }
        return s;
    }

    /// <summary>k → γ: −2·dk/d(d²) = −scale·k/d (profile of the distance) or −2·scale·k (of d²); 0 at coincident points.</summary>
    private static void GradientWeights(Span<float> k, ReadOnlySpan<float> squared, float scale, bool ofDistance)
    {
        const float floor2 = (float)(GradientDistanceFloor * GradientDistanceFloor);
        for (int j = 0; j < k.Length; j++)
        {
            float d2 = squared[j];
            k[j] = d2 < floor2 ? 0f : ofDistance ? -scale * k[j] / MathF.Sqrt(d2) : -2f * scale * k[j];
        }
    }
}

/// <summary>Laplace kernel k(a, b) = exp(−‖a − b‖ / L) (spec eigenpro.md §4.3).</summary>
public sealed class LaplaceKernel : DistanceKernel
{
    /// <summary>Creates the kernel with bandwidth <paramref name="bandwidth"/> (L &gt; 0).</summary>
    /// <exception cref="ArgumentException">The bandwidth is not positive and finite.</exception>
    public LaplaceKernel(double bandwidth) => Bandwidth = CheckBandwidth(bandwidth, nameof(bandwidth));

    /// <summary>The bandwidth L.</summary>
    public double Bandwidth { get; }

    /// <inheritdoc/>
    public override string Name => "laplace";

    /// <inheritdoc/>
    public override double Diagonal(ReadOnlySpan<float> x) => 1.0;

    private protected override (float Scale, bool OfDistance) Profile => LaplaceProfile(Bandwidth);

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"Laplace(L={Bandwidth:G6})");
}

/// <summary>Gaussian kernel k(a, b) = exp(−‖a − b‖² / (2L²)) (spec eigenpro.md §4.2).</summary>
public sealed class GaussianKernel : DistanceKernel
{
    /// <summary>Creates the kernel with bandwidth <paramref name="bandwidth"/> (L &gt; 0).</summary>
    /// <exception cref="ArgumentException">The bandwidth is not positive and finite.</exception>
    public GaussianKernel(double bandwidth) => Bandwidth = CheckBandwidth(bandwidth, nameof(bandwidth));

    /// <summary>The bandwidth L.</summary>
    public double Bandwidth { get; }

    /// <inheritdoc/>
    public override string Name => "gaussian";

    /// <inheritdoc/>
    public override double Diagonal(ReadOnlySpan<float> x) => 1.0;

    private protected override (float Scale, bool OfDistance) Profile => GaussianProfile(Bandwidth);

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"Gaussian(L={Bandwidth:G6})");
}

/// <summary>The vectorised elementwise passes of a distance-kernel row, per SIMD path.</summary>
internal static unsafe class DistanceTail
{
    /// <summary>
    /// row[j] ← max(row[j] + nb[j] + na, 0) (row holds −2⟨a, b_j⟩ on entry); returns whether some j has
    /// row[j] ≤ tol·(na + nb[j]), i.e. a pair the float32 identity cannot resolve.
    /// </summary>
    public static bool SquaredDistances(SimdPath path, Span<float> row, ReadOnlySpan<float> nb, float na, float tol)
    {
        fixed (float* r = row)
        fixed (float* b = nb)
        {
            return path switch
            {
                SimdPath.Vector512 => SquaredDistances<Simd512<float>, System.Runtime.Intrinsics.Vector512<float>>(r, b, row.Length, na, tol),
                SimdPath.Vector256 => SquaredDistances<Simd256<float>, System.Runtime.Intrinsics.Vector256<float>>(r, b, row.Length, na, tol),
                SimdPath.Vector128 => SquaredDistances<Simd128<float>, System.Runtime.Intrinsics.Vector128<float>>(r, b, row.Length, na, tol),
                _ => SquaredDistances<SimdScalar<float>, float>(r, b, row.Length, na, tol),
            };
        }
    }

    private static bool SquaredDistances<O, V>(float* r, float* nb, int n, float na, float tol) where O : ISimdOps<V, float> where V : struct
    {
        V vna = O.Broadcast(na), vtol = O.Broadcast(tol), zero = default;
        // Smallest d² − tol·(na + nb) seen: at or below zero means a near pair.
        V margin = O.Broadcast(float.PositiveInfinity);
        int j = 0;
        for (; j + O.Count <= n; j += O.Count)
        {
            V b = O.Load(nb + j);
            V d2 = O.Add(O.Add(O.Load(r + j), b), vna);
            margin = O.Min(margin, O.Subtract(d2, O.Multiply(vtol, O.Add(vna, b))));
            O.Store(O.Max(d2, zero), r + j);
        }
        float m = float.PositiveInfinity;
        float* lanes = stackalloc float[O.Count];
        O.Store(margin, lanes);
        for (int t = 0; t < O.Count; t++) m = Math.Min(m, lanes[t]);
        for (; j < n; j++)
        {
            float d2 = r[j] + nb[j] + na;
            m = Math.Min(m, d2 - tol * (na + nb[j]));
            r[j] = Math.Max(d2, 0f);
        }
        // NaN cannot arise from finite prepared rows; treat it as "near" so the exact path decides.
        return !(m > 0);
    }

    /// <summary>
    /// row[j] ← min(exp(scale·√row[j]), 1) (<paramref name="ofDistance"/>) or min(exp(scale·row[j]), 1), in one pass.
    /// φ(d²) ≤ φ(0) = 1, but the polynomial exp can return 1 + 1 ulp at 0: the clamp keeps k(x, x) = 1 exactly.
    /// </summary>
    public static void Profile(SimdPath path, Span<float> row, float scale, bool ofDistance)
    {
        fixed (float* r = row)
        {
            switch (path)
            {
                case SimdPath.Vector512: Profile<Simd512<float>, System.Runtime.Intrinsics.Vector512<float>>(r, row.Length, scale, ofDistance); break;
                case SimdPath.Vector256: Profile<Simd256<float>, System.Runtime.Intrinsics.Vector256<float>>(r, row.Length, scale, ofDistance); break;
                case SimdPath.Vector128: Profile<Simd128<float>, System.Runtime.Intrinsics.Vector128<float>>(r, row.Length, scale, ofDistance); break;
                default: Profile<SimdScalar<float>, float>(r, row.Length, scale, ofDistance); break;
            }
        }
    }

    private static void Profile<O, V>(float* r, int n, float scale, bool ofDistance) where O : ISimdOps<V, float> where V : struct
    {
        V s = O.Broadcast(scale), one = O.Broadcast(1f);
        int j = 0;
        for (; j + O.Count <= n; j += O.Count)
        {
            V t = O.Load(r + j);
            if (ofDistance) t = O.Sqrt(t);
            O.Store(O.Min(SimdMath.Exp<O, V>(O.Multiply(s, t)), one), r + j);
        }
        for (; j < n; j++)
        {
            float t = ofDistance ? MathF.Sqrt(r[j]) : r[j];
            r[j] = MathF.Min(SimdMath.Exp<SimdScalar<float>, float>(scale * t), 1f);
        }
    }
}
