using System.Buffers;
using System.Numerics.Tensors;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// Mahalanobis–Laplace kernel k(a, b) = exp(−‖a − b‖_M / L) with ‖v‖_M = √max(0, vᵀMv), for a full symmetric
/// d×d matrix M or a diagonal M (the RFM kernel; spec rfm-and-dynamics.md §1.1, §1.3 "diag").
/// </summary>
/// <remarks>
/// The cross term aᵀMb is computed as (A·M)·Bᵀ: only the left block is transformed, per evaluation, so the
/// centers need no transformed copy. The per-row statistic is xᵀMx.
/// </remarks>
public sealed class MahalanobisLaplaceKernel : DistanceKernel
{
    private readonly Matrix? _full;
    private readonly float[]? _diagonal;

    /// <summary>Kernel with a full symmetric matrix <paramref name="m"/> (d×d, finite; PSD expected).</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, non-square, non-symmetric or non-finite M.</exception>
    public MahalanobisLaplaceKernel(double bandwidth, MatrixView m)
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

    /// <summary>Kernel with a diagonal M given by its non-negative diagonal <paramref name="diagonal"/>.</summary>
    /// <exception cref="ArgumentException">Bad bandwidth, empty, negative or non-finite diagonal.</exception>
    public MahalanobisLaplaceKernel(double bandwidth, ReadOnlySpan<float> diagonal)
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

    /// <inheritdoc/>
    public override string Name => "mahalanobis";

    /// <inheritdoc/>
    public override double Diagonal(ReadOnlySpan<float> x) => 1.0;

    private protected override (float Scale, bool OfDistance) Profile => LaplaceProfile(Bandwidth);

    private protected override void ComputeStatistics(MatrixView points, Span<float> statistics)
    {
        for (int i = 0; i < points.Rows; i++)
            statistics[i] = (float)QuadraticForm(points.Row(i), null);
    }

    private protected override double ExactSquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> z) => QuadraticForm(x, z);

    /// <summary>(x − z)ᵀM(x − z) in float64 (z = null means z = 0).</summary>
    private double QuadraticForm(ReadOnlySpan<float> x, ReadOnlySpan<float> z)
    {
        int d = x.Length;
        bool hasZ = !z.IsEmpty;
        double s = 0;
        if (_diagonal is not null)
        {
            for (int k = 0; k < d; k++)
            {
                double v = hasZ ? (double)x[k] - z[k] : x[k];
                s += _diagonal[k] * v * v;
            }
            return s;
        }
        var m = _full!;
        for (int p = 0; p < d; p++)
        {
            double vp = hasZ ? (double)x[p] - z[p] : x[p];
            if (vp == 0) continue;
            var mRow = m.Row(p);
            double inner = 0;
            for (int q = 0; q < d; q++) inner += mRow[q] * (hasZ ? (double)x[q] - z[q] : x[q]);
            s += vp * inner;
        }
        return s;
    }

    private protected override MatrixView CrossLeft(MatrixView a, ComputeContext context, out float[]? rented)
    {
        int d = Dimension;
        rented = ArrayPool<float>.Shared.Rent(a.Rows * d);
        var left = new MatrixView(rented, 0, a.Rows, d, d);
        if (_diagonal is not null)
        {
            for (int i = 0; i < a.Rows; i++) TensorPrimitives.Multiply(a.Row(i), _diagonal, left.Row(i));
        }
        else
        {
            // M is symmetric, so row i of A·M is M·a_i.
            Gemm.Compute(Transpose.No, Transpose.No, 1f, a, _full!, 0f, left, context);
        }
        return left;
    }

    // The cross term passes through two products (A·M, then ·Bᵀ); allow for both roundings.
    private protected override double CrossErrorFactor(int dimension) => (2.0 * dimension + 2) / (1 << 24);

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"MahalanobisLaplace(L={Bandwidth:G6}, {(IsDiagonal ? "diagonal" : "full")} M, d={Dimension})");
}
