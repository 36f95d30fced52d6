using System.Numerics.Tensors;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// A distance kernel in the Mahalanobis norm ‖v‖_M = √max(0, vᵀMv) for a full symmetric d×d matrix M or a diagonal
/// M — the kernels of Recursive Feature Machines (spec rfm-and-dynamics.md §1.1, §1.3 "diag").
/// </summary>
/// <remarks>
/// <see cref="Kernel.Prepare"/> maps the rows once to features Rᵀ·x, where M = R·Rᵀ with R the Cholesky factor of M
/// (one GEMM for a full M; computed once per kernel), and the kernel is the Euclidean one on those features. So every
/// computed K is the kernel of slightly perturbed points — positive semi-definite like the exact one — even for an
/// ill-conditioned learned M, where the cross term in the form (X·M)·Zᵀ loses its accuracy against ‖Mx‖‖z‖ ≫ xᵀMx.
/// A singular M (RFM's learned M often is) is factored with the smallest diagonal jitter that works, from
/// 1e-7·mean(diag M) up (<see cref="FactorJitter"/>): far below the float32 resolution of the distances. A solver
/// that evaluates many batches against the same prepared rows never transforms them again.
/// </remarks>
public abstract class MahalanobisKernel : DistanceKernel
{
    private readonly Matrix? _full;
    private readonly float[]? _diagonal;

    /// <summary>A kernel with a full symmetric matrix <paramref name="m"/> (d×d, finite; PSD expected).</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, non-square, non-symmetric or non-finite M.</exception>
    private protected MahalanobisKernel(double bandwidth, MatrixView m)
    {
        Bandwidth = CheckBandwidth(bandwidth, nameof(bandwidth));
        if (m.Rows != m.Columns || m.Rows == 0)
            throw new ArgumentException($"Expected a square non-empty M, found shape {m.Shape}.", nameof(m));
        Guard.AllFinite(m, nameof(m));
        for (int i = 0; i < m.Rows; i++)
            for (int j = 0; j < i; j++)
            {
                float x = m[i, j], y = m[j, i];
                if (Math.Abs(x - y) > 1e-5f * Math.Max(1f, Math.Max(Math.Abs(x), Math.Abs(y))))
                    throw new ArgumentException($"Expected a symmetric M, found M[{i},{j}] = {x} but M[{j},{i}] = {y}.", nameof(m));
            }
        _full = m.ToMatrix();
    }

    /// <summary>A kernel with a diagonal M given by its non-negative diagonal <paramref name="diagonal"/>.</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, empty, negative or non-finite diagonal.</exception>
    private protected MahalanobisKernel(double bandwidth, ReadOnlySpan<float> diagonal)
    {
        Bandwidth = CheckBandwidth(bandwidth, nameof(bandwidth));
        if (diagonal.IsEmpty) throw new ArgumentException("Expected a non-empty diagonal.", nameof(diagonal));
        for (int i = 0; i < diagonal.Length; i++)
            if (!float.IsFinite(diagonal[i]) || diagonal[i] < 0)
                throw new ArgumentException($"Expected finite non-negative diagonal entries, found {diagonal[i]} at {i}.", nameof(diagonal));
        _diagonal = diagonal.ToArray();
    }

    /// <summary>The bandwidth L.</summary>
    public double Bandwidth { get; }

    /// <summary>True when M is diagonal.</summary>
    public bool IsDiagonal => _diagonal is not null;

    /// <summary>Dimension d of M.</summary>
    public int Dimension => _diagonal?.Length ?? _full!.Rows;

    /// <inheritdoc/>
    public override int? RequiredDimension => Dimension;

    /// <summary>A copy of M as a dense d×d matrix.</summary>
    public Matrix MatrixM()
    {
        if (_full is not null) return _full.Clone();
        var m = new Matrix(Dimension, Dimension);
        for (int i = 0; i < Dimension; i++) m[i, i] = _diagonal![i];
        return m;
    }

    /// <summary>M's diagonal (for a diagonal M, all of it).</summary>
    public float[] DiagonalOfM()
    {
        if (_diagonal is not null) return (float[])_diagonal.Clone();
        var d = new float[Dimension];
        for (int i = 0; i < d.Length; i++) d[i] = _full![i, i];
        return d;
    }

    /// <summary>The same kernel family and bandwidth with another matrix (d×d, or 1×d for a diagonal M).</summary>
    public abstract MahalanobisKernel WithMatrix(Matrix m);

    /// <inheritdoc/>
    public override double Diagonal(ReadOnlySpan<float> x) => 1.0;

    private CholeskyFactor? _factor;

    /// <summary>R with M (+ <see cref="FactorJitter"/>·I) = R·Rᵀ, lower triangular (full M only); the feature map and the AGOP's sandwich use it.</summary>
    internal Matrix Factor(ComputeContext context)
    {
        if (_full is null) throw new InvalidOperationException("A diagonal M is applied through its diagonal.");
        // Computed once, on first use; a race computes the same factor twice, harmlessly.
        return (_factor ??= Cholesky.Factor(_full, maxJitterAttempts: 6, context)).Lower;
    }

    /// <summary>Diagonal jitter the factorisation of a full M needed (0 for a positive definite M; null before the first Prepare).</summary>
    public double? FactorJitter => _full is null ? 0 : _factor?.Jitter;

    /// <summary>√(diagonal of M), the feature scale of a diagonal M.</summary>
    internal float[] DiagonalSquareRoot() => _diagonal!.Select(v => MathF.Sqrt(v)).ToArray();

    private protected override Matrix Transform(MatrixView points, ComputeContext context)
    {
        var features = new Matrix(points.Rows, Dimension);
        if (_diagonal is not null)
        {
            var root = DiagonalSquareRoot();
            for (int i = 0; i < points.Rows; i++) TensorPrimitives.Multiply(points.Row(i), root, features.Row(i));
        }
        else
            // Row i of X·R is Rᵀ·xᵢ, and ‖Rᵀ(x − z)‖² = (x − z)ᵀM(x − z).
            Gemm.Compute(Transpose.No, Transpose.No, 1f, points, Factor(context), 0f, features, context);
        return features;
    }

    private protected string Describe(string family) =>
        FormattableString.Invariant($"{family}(L={Bandwidth:G6}, {(IsDiagonal ? "diagonal" : "full")} M, d={Dimension})");
}

/// <summary>Mahalanobis–Laplace kernel k(a, b) = exp(−‖a − b‖_M / L), RFM's default (spec rfm-and-dynamics.md §1.1).</summary>
public sealed class MahalanobisLaplaceKernel : MahalanobisKernel
{
    /// <summary>Kernel with a full symmetric matrix <paramref name="m"/> (d×d, finite; PSD expected).</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, non-square, non-symmetric or non-finite M.</exception>
    public MahalanobisLaplaceKernel(double bandwidth, MatrixView m) : base(bandwidth, m) { }

    /// <summary>Kernel with a diagonal M given by its non-negative diagonal <paramref name="diagonal"/>.</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, empty, negative or non-finite diagonal.</exception>
    public MahalanobisLaplaceKernel(double bandwidth, ReadOnlySpan<float> diagonal) : base(bandwidth, diagonal) { }

    /// <inheritdoc/>
    public override string Name => "mahalanobis";

    private protected override (float Scale, bool OfDistance) Profile => LaplaceProfile(Bandwidth);

    /// <inheritdoc/>
    public override MahalanobisKernel WithMatrix(Matrix m) =>
        m.Rows == 1 ? new MahalanobisLaplaceKernel(Bandwidth, m.Row(0)) : new MahalanobisLaplaceKernel(Bandwidth, m);

    /// <inheritdoc/>
    public override string ToString() => Describe("MahalanobisLaplace");
}

/// <summary>Mahalanobis–Gaussian kernel k(a, b) = exp(−‖a − b‖²_M / (2L²)) (the RFM package's GaussRFM).</summary>
public sealed class MahalanobisGaussianKernel : MahalanobisKernel
{
    /// <summary>Kernel with a full symmetric matrix <paramref name="m"/> (d×d, finite; PSD expected).</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, non-square, non-symmetric or non-finite M.</exception>
    public MahalanobisGaussianKernel(double bandwidth, MatrixView m) : base(bandwidth, m) { }

    /// <summary>Kernel with a diagonal M given by its non-negative diagonal <paramref name="diagonal"/>.</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, empty, negative or non-finite diagonal.</exception>
    public MahalanobisGaussianKernel(double bandwidth, ReadOnlySpan<float> diagonal) : base(bandwidth, diagonal) { }

    /// <inheritdoc/>
    public override string Name => "mahalanobis-gaussian";

    private protected override (float Scale, bool OfDistance) Profile => GaussianProfile(Bandwidth);

    /// <inheritdoc/>
    public override MahalanobisKernel WithMatrix(Matrix m) =>
        m.Rows == 1 ? new MahalanobisGaussianKernel(Bandwidth, m.Row(0)) : new MahalanobisGaussianKernel(Bandwidth, m);

    /// <inheritdoc/>
    public override string ToString() => Describe("MahalanobisGaussian");
}
