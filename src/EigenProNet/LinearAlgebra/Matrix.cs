namespace EigenProNet.LinearAlgebra;

/// <summary>A dense row-major float32 matrix that owns its storage.</summary>
public sealed class Matrix
{
    /// <summary>The row-major elements (length Rows·Columns).</summary>
    public float[] Data { get; }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns.</summary>
    public int Columns { get; }

    /// <summary>A zero-filled matrix.</summary>
    public Matrix(int rows, int columns)
    {
        if (rows < 0 || columns < 0)
            throw new ArgumentException($"Expected a non-negative shape, found ({rows}, {columns}).", nameof(rows));
        long count = (long)rows * columns;
        if (count > Array.MaxLength)
            throw new ArgumentException($"A ({rows}, {columns}) float32 matrix exceeds the largest array .NET allows.", nameof(rows));
        Rows = rows;
        Columns = columns;
        Data = new float[count];
    }

    /// <summary>Wraps existing row-major <paramref name="data"/> (not copied).</summary>
    public Matrix(int rows, int columns, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (rows < 0 || columns < 0 || (long)rows * columns != data.Length)
            throw new ArgumentException($"Expected {(long)rows * columns} elements for shape ({rows}, {columns}), found {data.Length}.", nameof(data));
        Rows = rows;
        Columns = columns;
        Data = data;
    }

    /// <summary>Shape as text, e.g. "(2000, 3072)".</summary>
    public string Shape => $"({Rows}, {Columns})";

    /// <summary>The whole matrix as a view.</summary>
    public MatrixView View => new(Data, 0, Rows, Columns, Columns);

    /// <summary>Row <paramref name="row"/> as a span.</summary>
    public Span<float> Row(int row) => View.Row(row);

    /// <summary>Element (row, column).</summary>
    public ref float this[int row, int column] => ref View[row, column];

    /// <summary>The rows [start, start + count) as a view (no copy).</summary>
    public MatrixView RowBlock(int start, int count) => View.RowBlock(start, count);

    /// <summary>All elements as one span.</summary>
    public Span<float> AsSpan() => Data;

    /// <summary>Implicit zero-copy view of the whole matrix.</summary>
    public static implicit operator MatrixView(Matrix m) => m.View;

    /// <summary>A deep copy.</summary>
    public Matrix Clone() => new(Rows, Columns, (float[])Data.Clone());

    /// <summary>The transpose as a new matrix.</summary>
    public Matrix Transposed()
    {
        var t = new Matrix(Columns, Rows);
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Columns; j++)
                t.Data[j * Rows + i] = Data[i * Columns + j];
        return t;
    }

    /// <summary>A matrix with entries drawn from N(0, 1) using a seeded generator (for tests and benchmarks).</summary>
    public static Matrix RandomNormal(int rows, int columns, int seed, float scale = 1f)
    {
        var m = new Matrix(rows, columns);
        var rng = new Random(seed);
        for (int i = 0; i < m.Data.Length; i++)
        {
            // Box–Muller; the 1 − u guard keeps log away from 0.
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            m.Data[i] = scale * (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }
        return m;
    }

    /// <summary>Builds a matrix from a jagged array (rows must have equal lengths).</summary>
    public static Matrix FromRows(params float[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int cols = rows.Length == 0 ? 0 : rows[0].Length;
        var m = new Matrix(rows.Length, cols);
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != cols)
                throw new ArgumentException($"Row {i} has {rows[i].Length} elements; expected {cols}.", nameof(rows));
            rows[i].CopyTo(m.Row(i));
        }
        return m;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Matrix{Shape}";
}
