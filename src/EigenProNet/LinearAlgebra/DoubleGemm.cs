namespace EigenProNet.LinearAlgebra;

/// <summary>A row-major block of a float64 array: element (i, j) at <c>Data[Offset + i·Stride + j]</c>.</summary>
internal readonly struct DoubleBlock
{
    public DoubleBlock(double[] data, long offset, int rows, int columns, int stride)
    {
        if (rows < 0 || columns < 0 || stride < columns || offset < 0 ||
            (rows > 0 && columns > 0 && offset + (long)(rows - 1) * stride + columns > data.Length))
            throw new ArgumentOutOfRangeException(nameof(offset), $"Block ({rows}×{columns}, stride {stride}, offset {offset}) outside an array of {data.Length}.");
        Data = data; Offset = offset; Rows = rows; Columns = columns; Stride = stride;
    }

    /// <summary>The whole n×m array.</summary>
    public static DoubleBlock Of(double[] data, int rows, int columns) => new(data, 0, rows, columns, columns);

    public double[] Data { get; }
    public long Offset { get; }
    public int Rows { get; }
    public int Columns { get; }
    public int Stride { get; }

    public Span<double> Row(int i) => Data.AsSpan((int)(Offset + (long)i * Stride), Columns);

    public DoubleBlock Block(int row, int column, int rows, int columns) =>
        new(Data, Offset + (long)row * Stride + column, rows, columns, Stride);
}

/// <summary>
/// C = α·op(A)·op(B) + β·C in float64, for the eigensolver's blocked reductions: the packed driver of
/// <see cref="Gemm"/> (<see cref="GemmDriver{T}"/>) instantiated for double. Optionally only the tiles that touch
/// the upper triangle of a square C are computed (the symmetric updates of the tridiagonalisation).
/// </summary>
internal static class DoubleGemm
{
    public static void Compute(Transpose transA, Transpose transB, double alpha, DoubleBlock a, DoubleBlock b, double beta,
        DoubleBlock c, bool upperOnly = false, ComputeContext? context = null) =>
        GemmDriver<double>.Run(transA, transB, alpha, Operand(a), Operand(b), beta, Operand(c), context ?? ComputeContext.Default,
            upperOnly ? Triangle.Upper : Triangle.Full);

    private static GemmOperand<double> Operand(DoubleBlock x) => new(x.Data, x.Offset, x.Rows, x.Columns, x.Stride);
}
