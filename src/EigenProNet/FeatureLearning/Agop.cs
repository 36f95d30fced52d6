using System.Numerics.Tensors;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.FeatureLearning;

/// <summary>How the AGOP is scaled into the next Mahalanobis matrix (spec rfm-and-dynamics.md §1.3).</summary>
public enum AgopNormalization
{
    /// <summary>The mean over the sample points, (1/m)·Σ JᵀJ — the Science-paper and tabular code (default).</summary>
    Mean,
    /// <summary>Σ JᵀJ divided by its largest entry — xRFM and the RFM package.</summary>
    MaxEntry,
}

/// <summary>
/// The average gradient outer product of a kernel predictor f(z) = Σᵢ αᵢ k(z, xᵢ) (spec rfm-and-dynamics.md §1.3):
/// AGOP = (1/m)·Σ_z J(z)ᵀJ(z) over sample points z, J the c × d Jacobian. Accumulated batch by batch as GEMMs — never
/// an m × c × d tensor: with Γ = the kernel's gradient weights (∇_z k(z, xᵢ) = −γ(z, xᵢ)·M(z − xᵢ)) and the prepared
/// features f = Rᵀ·x (M = R·Rᵀ; R = I for the Euclidean kernels), ∇f_k(z) = R·g_k(z) with
/// g_k(z) = Σᵢ γ(z, xᵢ)·α_ik·f(xᵢ) − (Γα)_zk·f(z): the c gradients of a batch are one GEMM of the rows Γ_z ∘ α_k
/// against the centers' features, Σ g gᵀ one rank-k update, and the AGOP R·(Σ g gᵀ)·Rᵀ at the end.
/// </summary>
public static class Agop
{
    /// <summary>
    /// The AGOP of the predictor with weights <paramref name="weights"/> (n × c) on <paramref name="centers"/>, over the
    /// points <paramref name="samples"/> (both prepared by the same distance kernel). Pairs at distance 0 (self-terms,
    /// duplicated rows) contribute nothing. Returns d × d (float64 accumulation, symmetric), or 1 × d — the diagonal
    /// only — when <paramref name="diagonal"/>.
    /// </summary>
    /// <param name="centers">The predictor's centers xᵢ.</param>
    /// <param name="weights">α, one row per center.</param>
    /// <param name="samples">The points z the gradients are taken at (typically the training rows or a sample of them).</param>
    /// <param name="diagonal">Keep only the diagonal of the AGOP (diagonal RFM).</param>
    /// <param name="centerGradients">Subtract each output's mean gradient over the sample points before the outer products.</param>
    /// <param name="normalization">Mean (1/m) or division by the largest entry.</param>
    /// <param name="budget">Bounds the per-batch blocks.</param>
    /// <param name="context">Threads and SIMD path.</param>
    /// <param name="progress">Reports (sample points done, total) after each batch.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">The rows were prepared by another or a non-distance kernel, or shapes disagree.</exception>
    public static Matrix Compute(KernelRows centers, MatrixView weights, KernelRows samples, bool diagonal = false, bool centerGradients = false,
        AgopNormalization normalization = AgopNormalization.Mean, MemoryBudget? budget = null, ComputeContext? context = null,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(centers);
        ArgumentNullException.ThrowIfNull(samples);
        if (centers.Kernel is not DistanceKernel kernel)
            throw new ArgumentException($"The AGOP needs a distance kernel (Laplace, Gaussian, Mahalanobis), found {centers.Kernel}.", nameof(centers));
        if (!ReferenceEquals(samples.Kernel, kernel))
            throw new ArgumentException($"The sample points were prepared for {samples.Kernel}, the centers for {kernel}.", nameof(samples));
        Guard.Rows(weights, centers.Count, nameof(weights));
        if (samples.Dimension != centers.Dimension)
            throw new ArgumentException($"The sample points have {samples.Dimension} features, the centers {centers.Dimension}.", nameof(samples));
        if (samples.Count == 0) throw new ArgumentException("The AGOP needs at least one sample point.", nameof(samples));
        if (diagonal && kernel is MahalanobisKernel { IsDiagonal: false })
            throw new ArgumentException("A diagonal AGOP needs a kernel with a diagonal M (a full M's gradients mix the coordinates).", nameof(diagonal));
        budget ??= MemoryBudget.Default;
        context ??= ComputeContext.Default;
        int n = centers.Count, c = weights.Columns, d = centers.Dimension, m = samples.Count;

        // αᵀ (c × n): each output's weights as one contiguous row, to scale the rows of Γ.
        var alphaT = new Matrix(c, n);
        for (int i = 0; i < n; i++)
        {
            var w = weights.Row(i);
            for (int k = 0; k < c; k++) alphaT[k, i] = w[k];
        }
        // Per sample point: its row of Γ, c scaled copies of it, c gradients and c entries of Γα.
        long bytesPerPoint = 4L * (n + (long)c * n + (long)c * d + c);
        // At most 4096 gradient rows (b·c) per GEMM, and the c scaled copies of Γ within 128 MiB: past that the products
        // run no faster, and a few blocks of that size leave the heap less fragmented than one that takes the budget.
        int cap = (int)Math.Clamp((128L << 20) / (4L * c * n), 1, Math.Max(1, 4096 / c));
        int batch = budget.RowsThatFit(bytesPerPoint, Math.Min(m, cap), 1, "an AGOP batch");
        var gamma = new Matrix(batch, n);
        var scaled = new Matrix(batch * c, n);
        var gradients = new Matrix(batch * c, d);
        var gammaAlpha = new Matrix(batch, c);
        var outer = diagonal ? null : new Matrix(d, d);
        var sum = new double[diagonal ? d : (long)d * d];
        var meanGradient = centerGradients ? new double[c * d] : null;

        for (int z0 = 0; z0 < m; z0 += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int b = Math.Min(batch, m - z0);
            var points = samples.Slice(z0, b);
            var g = gamma.View.RowBlock(0, b);
            kernel.EvaluateGradientWeights(points, centers, g, context);
            var ga = gammaAlpha.View.RowBlock(0, b);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, g, weights, 0f, ga, context);
            for (int z = 0; z < b; z++)
                for (int k = 0; k < c; k++)
                    TensorPrimitives.Multiply(g.Row(z), alphaT.Row(k), scaled.Row(z * c + k));
            var grads = gradients.View.RowBlock(0, b * c);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, scaled.View.RowBlock(0, b * c), centers.Features, 0f, grads, context);
            for (int z = 0; z < b; z++)
            {
                var fz = points.Features.Row(z);
                for (int k = 0; k < c; k++)
                {
                    var row = grads.Row(z * c + k);
                    TensorPrimitives.MultiplyAdd(fz, -ga[z, k], row, row);
                    if (meanGradient is not null)
                        for (int p = 0; p < d; p++) meanGradient[k * d + p] += row[p];
                    if (diagonal)
                        for (int p = 0; p < d; p++) sum[p] += (double)row[p] * row[p];
                }
            }
            if (outer is not null)
            {
                Gemm.SymmetricRankK(Transpose.Yes, 1f, grads, 0f, outer, context);
                var o = outer.Data;
                for (long i = 0; i < o.Length; i++) sum[i] += o[i];
            }
            progress?.Report((z0 + b, m));
        }

        if (meanGradient is not null)
        {
            // Σ_z (g − ḡ)(g − ḡ)ᵀ = Σ_z g gᵀ − m·ḡ ḡᵀ, per output.
            for (int k = 0; k < c; k++)
            {
                var mean = meanGradient.AsSpan(k * d, d);
                for (int p = 0; p < d; p++) mean[p] /= m;
                if (diagonal)
                    for (int p = 0; p < d; p++) sum[p] -= m * mean[p] * mean[p];
                else
                    for (int p = 0; p < d; p++)
                        for (int q = 0; q < d; q++) sum[(long)p * d + q] -= m * mean[p] * mean[q];
            }
        }
        var result = diagonal ? new Matrix(1, d) : new Matrix(d, d);
        if (diagonal)
            for (int p = 0; p < d; p++) result[0, p] = (float)Math.Max(sum[p] / m, 0);
        else
            for (int p = 0; p < d; p++)
                for (int q = 0; q <= p; q++)
                {
                    // Exactly symmetric: average the two float64 accumulations.
                    float v = (float)((sum[(long)p * d + q] + sum[(long)q * d + p]) / (2.0 * m));
                    result[p, q] = v;
                    result[q, p] = v;
                }
        // Back from the features' coordinates: R·A·Rᵀ.
        if (kernel is MahalanobisKernel mk)
        {
            if (mk.IsDiagonal)
            {
                var r = mk.DiagonalSquareRoot();
                for (int p = 0; p < result.Rows; p++)
                    for (int q = 0; q < d; q++) result[p, q] *= diagonal ? r[q] * r[q] : r[p] * r[q];
            }
            else if (!diagonal)
            {
                var factor = mk.Factor(context);
                var half = Gemm.Multiply(factor, result, context: context);
                Gemm.Compute(Transpose.No, Transpose.Yes, 1f, half, factor, 0f, result, context);
                for (int p = 0; p < d; p++) for (int q = 0; q < p; q++) result[p, q] = result[q, p] = 0.5f * (result[p, q] + result[q, p]);
            }
        }
        if (normalization == AgopNormalization.MaxEntry)
        {
            float max = result.Data.Max(MathF.Abs);
            var data = result.Data;
            for (int i = 0; i < data.Length; i++) data[i] = (float)(data[i] / (max + 1e-30));
        }
        else if (normalization != AgopNormalization.Mean)
            throw new ArgumentOutOfRangeException(nameof(normalization));
        return result;
    }
}
