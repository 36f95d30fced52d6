using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// Points prepared once for repeated kernel evaluation: the rows plus the per-row quantity the kernel needs
/// (squared norm for distance kernels, squared M-norm for Mahalanobis, norm for the NTK). Solvers prepare their
/// centers once and evaluate many blocks against them; <see cref="Slice"/> gives zero-copy row ranges.
/// </summary>
public sealed class KernelRows
{
    private readonly float[] _statistics;
    private readonly int _start;

    internal KernelRows(Kernel kernel, MatrixView points, float[] statistics, int start)
    {
        Kernel = kernel;
        Points = points;
        _statistics = statistics;
        _start = start;
    }

    /// <summary>The kernel these rows were prepared for.</summary>
    public Kernel Kernel { get; }

    /// <summary>The points, one per row.</summary>
    public MatrixView Points { get; }

    /// <summary>Number of points.</summary>
    public int Count => Points.Rows;

    /// <summary>Feature dimension.</summary>
    public int Dimension => Points.Columns;

    /// <summary>The per-row statistic (see the class remarks), one per point.</summary>
    internal ReadOnlySpan<float> Statistics => new(_statistics, _start, Points.Rows);

    /// <summary>Rows [start, start + count) without copying.</summary>
    public KernelRows Slice(int start, int count) =>
        new(Kernel, Points.RowBlock(start, count), _statistics, _start + start);
}
