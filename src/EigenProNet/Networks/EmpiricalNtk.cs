using System.Numerics.Tensors;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Networks;

/// <summary>
/// The empirical NTK of a <see cref="ReluNetwork"/>, Θ(x, z) = Σ_c ⟨∂f_c(x)/∂θ, ∂f_c(z)/∂θ⟩ — traced over the outputs
/// (neural-tangents' <c>trace_axes=(-1,)</c>, summed) — on a set of rows, computed exactly without the s × P Jacobian:
/// the gradient of f_c with respect to W_i is δ_c,i·a_iᵀ/√n_i (δ_c,i = ∂f_c/∂h_i), so layer i contributes the Hadamard
/// product (A_iA_iᵀ/n_i + β²) ⊙ Σ_c Δ_c,iΔ_c,iᵀ of the Gram of its inputs and the Gram of its back-propagated signals.
/// Memory: the s × s result, D more s × s accumulators and O(D·s·w) activations — never the Jacobian.
/// </summary>
public static class EmpiricalNtk
{
    /// <summary>Θ(X, X) (s × s, exactly symmetric) for the rows of <paramref name="x"/>.</summary>
    /// <exception cref="ArgumentException">Wrong number of features, or no rows.</exception>
    public static Matrix Compute(ReluNetwork network, MatrixView x, ComputeContext? context = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.CheckInputs(x, nameof(x));
        if (x.Rows < 1) throw new ArgumentException("Expected at least one row.", nameof(x));
        var compute = context ?? ComputeContext.Default;
        int s = x.Rows, depth = network.Depth, c = network.Outputs;
        var pass = new NetworkPass(network, s, withGradients: false);
        pass.Forward(x, compute);
        float beta2 = (float)(network.BiasScale * network.BiasScale);

        // Output layer: δ_c = e_c, so Σ_c⟨δ_c, δ_c′⟩ = c.
        var theta = new Matrix(s, s);
        Gemm.SymmetricRankK(Transpose.No, c / (float)network.FanIn(depth), pass.LayerInput(depth), 0f, theta, compute);
        if (beta2 != 0) TensorPrimitives.Add(theta.Data, c * beta2, theta.Data);
        if (depth == 0) return theta;
        cancellationToken.ThrowIfCancellationRequested();

        var inputGram = new Matrix(s, s);
        var signalGram = new Matrix(s, s);
        // The last hidden layer: δ_c = φ′(h) ⊙ V[c, :]/√w, so Σ_c Δ_cΔ_cᵀ = (φ′(H)·diag(q))·φ′(H)ᵀ with q_j = Σ_c V[c, j]²/w:
        // one rank-w update instead of c.
        var v = network.Weight(depth);
        var q = new float[network.Width];
        for (int r = 0; r < c; r++)
            for (int j = 0; j < q.Length; j++) q[j] += v[r, j] * v[r, j];
        for (int j = 0; j < q.Length; j++) q[j] = MathF.Sqrt(q[j] / network.FanIn(depth));
        var scaled = new Matrix(s, network.Width);
        var top = pass.Activation(depth - 1);
        for (int r = 0; r < s; r++)
        {
            scaled.Row(r).Fill(0f);
            TensorPrimitives.Add(scaled.Row(r), q, scaled.Row(r));
            ReluNetwork.MultiplyByDerivative(scaled.Row(r), top.Row(r));
        }
        Gemm.SymmetricRankK(Transpose.No, 1f, scaled, 0f, signalGram, compute);
        AddLayer(theta, inputGram, signalGram, pass.LayerInput(depth - 1), network.FanIn(depth - 1), beta2, compute);
        if (depth == 1) return theta;

        // Lower layers: per output c, back-propagate δ_c from the last hidden layer down and accumulate every layer's
        // Σ_c Δ_c,iΔ_c,iᵀ (one s × w signal at a time).
        var lower = Enumerable.Range(0, depth - 1).Select(_ => new Matrix(s, s)).ToArray();
        var next = new Matrix(s, network.Width);
        for (int output = 0; output < c; output++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            float invSqrt = 1f / MathF.Sqrt(network.FanIn(depth));
            for (int r = 0; r < s; r++)
            {
                var row = scaled.Row(r);
                TensorPrimitives.Multiply(v.Row(output), invSqrt, row);
                ReluNetwork.MultiplyByDerivative(row, top.Row(r));
            }
            var delta = scaled;
            for (int i = depth - 2; i >= 0; i--)
            {
                // δ_i = (δ_{i+1}·W_{i+1} / √n_{i+1}) ⊙ φ′(h_i).
                Gemm.Compute(Transpose.No, Transpose.No, 1f / MathF.Sqrt(network.FanIn(i + 1)), delta, network.Weight(i + 1), 0f, next, compute);
                var a = pass.Activation(i);
                for (int r = 0; r < s; r++) ReluNetwork.MultiplyByDerivative(next.Row(r), a.Row(r));
                Gemm.SymmetricRankK(Transpose.No, 1f, next, output == 0 ? 0f : 1f, lower[i], compute);
                (delta, next) = (next, delta);
            }
            // Keep `scaled` as the buffer the next output starts from.
            if (!ReferenceEquals(delta, scaled)) (scaled, next) = (delta, scaled);
        }
        for (int i = 0; i < depth - 1; i++)
            AddLayer(theta, inputGram, lower[i], pass.LayerInput(i), network.FanIn(i), beta2, compute);
        return theta;
    }

    /// <summary>Θ += (A·Aᵀ/n + β²) ⊙ G for one layer's inputs A and signal Gram G.</summary>
    private static void AddLayer(Matrix theta, Matrix inputGram, Matrix signalGram, MatrixView inputs, int fanIn, float beta2, ComputeContext compute)
    {
        Gemm.SymmetricRankK(Transpose.No, 1f / fanIn, inputs, 0f, inputGram, compute);
        if (beta2 != 0) TensorPrimitives.Add(inputGram.Data, beta2, inputGram.Data);
        TensorPrimitives.MultiplyAdd(inputGram.Data, signalGram.Data, theta.Data, theta.Data);
    }

    /// <summary>Floats the computation holds for <paramref name="rows"/> rows: what a caller checks against a memory budget.</summary>
    public static long WorkingFloats(ReluNetwork network, int rows)
    {
        ArgumentNullException.ThrowIfNull(network);
        long s = rows, w = network.Width;
        int grams = network.Depth == 0 ? 1 : 3 + Math.Max(0, network.Depth - 1);
        return grams * s * s + network.Depth * s * w + 2 * s * w + s * network.Outputs;
    }
}
