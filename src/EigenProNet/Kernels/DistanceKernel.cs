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

    /// <summary>Maps squared distances to kernel values in place (input already clamped at 0; output clamped at 1 after).</summary>
    private protected abstract void ApplyProfile(Span<float> squaredDistances);

    /// <summary>Per-row statistic: ‖x‖² (overridden for Mahalanobis norms).</summary>
    private protected override void ComputeStatistics(MatrixView points, Span<float> statistics)
    {
        for (int i = 0; i < points.Rows; i++)
        {
            var row = points.Row(i);
            double s = 0;
            foreach (float v in row) s += (double)v * v;
            statistics[i] = (float)s;
        }
    }

    /// <summary>The exact squared distance of two points, for the near pairs (overridden for Mahalanobis).</summary>
    private protected virtual double ExactSquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> z)
    {
        double s = 0;
        for (int k = 0; k < x.Length; k++)
        {
            double diff = (double)x[k] - z[k];
            s += diff * diff;
        }
        return s;
    }

    /// <summary>
    /// The left operand of the cross term: <c>a</c> itself for the Euclidean norm, <c>a·M</c> for a Mahalanobis
    /// norm. When a buffer is rented it is returned in <paramref name="rented"/> for the caller to give back.
    /// </summary>
    private protected virtual MatrixView CrossLeft(MatrixView a, ComputeContext context, out float[]? rented)
    {
        rented = null;
        return a;
    }

    /// <summary>Relative size of the float32 error of the cross term for dimension d (see remarks).</summary>
    private protected virtual double CrossErrorFactor(int dimension) => (dimension + 2) * Unit;

    /// <summary>exp(−√d² / L) in place: the Laplace profile shared by the Euclidean and Mahalanobis kernels.</summary>
    private protected static void LaplaceProfile(Span<float> d2, double bandwidth)
    {
        TensorPrimitives.Sqrt(d2, d2);
        TensorPrimitives.Multiply(d2, (float)(-1.0 / bandwidth), d2);
        TensorPrimitives.Exp(d2, d2);
    }

    private protected sealed override void ComputeBlock(KernelRows a, KernelRows b, MatrixView output, ComputeContext context)
    {
        var left = CrossLeft(a.Points, context, out float[]? rented);
        try
        {
            Gemm.Compute(Transpose.No, Transpose.Yes, -2f, left, b.Points, 0f, output, context);
        }
        finally
        {
            if (rented is not null) ArrayPool<float>.Shared.Return(rented);
        }
        float tol = (float)(4 * CrossErrorFactor(a.Dimension));
        float nbMax = TensorPrimitives.Max(b.Statistics);
        ForEachRow(context, a.Count, 8L * b.Count, (r0, r1) =>
        {
            var nb = b.Statistics;
            for (int i = r0; i < r1; i++)
            {
                var row = output.Row(i);
                float na = a.Statistics[i];
                TensorPrimitives.Add(row, nb, row);
                TensorPrimitives.Add(row, na, row);
                // Fast rejection with the largest threshold of the row; the exact per-pair test only when needed.
                if (TensorPrimitives.Min(row) <= tol * (na + nbMax))
                {
                    var x = a.Points.Row(i);
                    for (int j = 0; j < row.Length; j++)
                        if (row[j] <= tol * (na + nb[j]))
                            row[j] = (float)ExactSquaredDistance(x, b.Points.Row(j));
                }
                TensorPrimitives.Max(row, 0f, row);
                ApplyProfile(row);
                // φ(d²) ≤ φ(0) = 1, but the vectorised exp returns 1 + 1 ulp at 0: clamp so that k(x, x) = 1 exactly.
                TensorPrimitives.Min(row, 1f, row);
            }
        });
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

    private protected override void ApplyProfile(Span<float> d2) => LaplaceProfile(d2, Bandwidth);

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

    private protected override void ApplyProfile(Span<float> d2)
    {
        TensorPrimitives.Multiply(d2, (float)(-1.0 / (2 * Bandwidth * Bandwidth)), d2);
        TensorPrimitives.Exp(d2, d2);
    }

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"Gaussian(L={Bandwidth:G6})");
}
