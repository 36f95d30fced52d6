using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// Points prepared once for repeated kernel evaluation: the rows, the rows as the kernel computes with them
/// (<see cref="Features"/>: S·x with S = M^{1/2} for a Mahalanobis kernel, the points themselves otherwise) and the per-row quantity
/// the kernel needs (squared norm for distance kernels, squared M-norm for Mahalanobis, norm for the NTK). Solvers
/// prepare their centers and training rows once and evaluate many blocks against them; <see cref="Slice"/> gives
/// zero-copy row ranges.
/// </summary>
public sealed class KernelRows
{
    private readonly float[] _statistics;
    private readonly int _start;

    internal KernelRows(Kernel kernel, MatrixView points, MatrixView features, float[] statistics, int start)
    {
        Kernel = kernel;
        Points = points;
        Features = features;
        _statistics = statistics;
        _start = start;
    }

    /// <summary>The kernel these rows were prepared for.</summary>
    public Kernel Kernel { get; }

    /// <summary>The points, one per row.</summary>
    public MatrixView Points { get; }

    /// <summary>
    /// The points transformed once by the kernel's feature map (for a Mahalanobis kernel row i is M^{1/2}·xᵢ, so
    /// ‖x − z‖_M is a Euclidean distance of features); the same view as <see cref="Points"/> for other kernels.
    /// </summary>
    public MatrixView Features { get; }

    /// <summary>Number of points.</summary>
    public int Count => Points.Rows;

    /// <summary>Feature dimension.</summary>
    public int Dimension => Points.Columns;

    /// <summary>The per-row statistic (see the class remarks), one per point.</summary>
    public ReadOnlySpan<float> Statistics => new(_statistics, _start, Points.Rows);

    /// <summary>Rows [start, start + count) without copying.</summary>
    public KernelRows Slice(int start, int count) =>
        new(Kernel, Points.RowBlock(start, count), Features.RowBlock(start, count), _statistics, _start + start);
}
