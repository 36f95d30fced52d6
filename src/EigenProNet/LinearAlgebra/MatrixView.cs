using System.Runtime.CompilerServices;

namespace EigenProNet.LinearAlgebra;

/// <summary>
/// A zero-copy, row-major window onto float32 storage: <see cref="Rows"/> × <see cref="Columns"/> elements,
/// row <c>i</c> starting at <c>Offset + i·Stride</c>. Views of views share the storage; nothing is copied.
/// </summary>
public readonly struct MatrixView
{
    internal readonly float[] Storage;
    internal readonly int Offset;

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns.</summary>
    public int Columns { get; }

    /// <summary>Distance in elements between the starts of consecutive rows (≥ <see cref="Columns"/>).</summary>
    public int Stride { get; }

    /// <summary>Creates a view on <paramref name="storage"/>.</summary>
    /// <exception cref="ArgumentException">The window does not fit in the storage.</exception>
    public MatrixView(float[] storage, int offset, int rows, int columns, int stride)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (rows < 0 || columns < 0)
            throw new ArgumentException($"Expected non-negative shape, found ({rows}, {columns}).", nameof(rows));
        if (stride < columns)
            throw new ArgumentException($"Expected stride >= columns ({columns}), found {stride}.", nameof(stride));
        long end = rows == 0 || columns == 0 ? offset : offset + (long)(rows - 1) * stride + columns;
        if (offset < 0 || end > storage.Length)
            throw new ArgumentException(
                $"A ({rows}, {columns}) window with stride {stride} at offset {offset} does not fit in {storage.Length} elements.",
                nameof(storage));
        Storage = storage;
        Offset = offset;
        Rows = rows;
        Columns = columns;
        Stride = stride;
    }

    /// <summary>True when rows follow each other without gaps, so the view is one span.</summary>
    public bool IsContiguous => Stride == Columns || Rows <= 1;

    /// <summary>Whether the view has no elements.</summary>
    public bool IsEmpty => Rows == 0 || Columns == 0;

    /// <summary>Shape as text, e.g. "(2000, 3072)", for error messages.</summary>
    public string Shape => $"({Rows}, {Columns})";

    /// <summary>Row <paramref name="row"/> as a span of <see cref="Columns"/> elements.</summary>
    public Span<float> Row(int row)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), row, $"Expected 0 <= row < {Rows}.");
        return new Span<float>(Storage, Offset + row * Stride, Columns);
    }

    /// <summary>Element (row, column).</summary>
    public ref float this[int row, int column]
    {
        get
        {
            if ((uint)row >= (uint)Rows || (uint)column >= (uint)Columns)
                throw new IndexOutOfRangeException($"Index ({row}, {column}) is outside shape {Shape}.");
            return ref Storage[Offset + row * Stride + column];
        }
    }

    /// <summary>The rows [start, start + count) as a view (no copy).</summary>
    public MatrixView RowBlock(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"Rows [{start}, {start + count}) are outside 0..{Rows}.");
        return new MatrixView(Storage, Offset + start * Stride, count, Columns, Stride);
    }

    /// <summary>The block of <paramref name="rows"/> × <paramref name="columns"/> at (row, column) as a view (no copy).</summary>
    public MatrixView Block(int row, int column, int rows, int columns)
    {
        if (row < 0 || column < 0 || rows < 0 || columns < 0 || row + rows > Rows || column + columns > Columns)
            throw new ArgumentOutOfRangeException(nameof(row),
                $"Block ({rows}, {columns}) at ({row}, {column}) is outside shape {Shape}.");
        return new MatrixView(Storage, Offset + row * Stride + column, rows, columns, Stride);
    }

    /// <summary>The whole view as one span; only for contiguous views.</summary>
    public Span<float> AsSpan()
    {
        if (!IsContiguous) throw new InvalidOperationException($"A view with stride {Stride} != columns {Columns} is not contiguous.");
        return new Span<float>(Storage, Offset, Rows * Columns);
    }

    /// <summary>Copies the view into a new dense matrix.</summary>
    public Matrix ToMatrix()
    {
        var m = new Matrix(Rows, Columns);
        CopyTo(m);
        return m;
    }

    /// <summary>Copies this view into <paramref name="destination"/> (same shape).</summary>
    public void CopyTo(MatrixView destination)
    {
        Guard.SameShape(this, destination, nameof(destination));
        for (int i = 0; i < Rows; i++) Row(i).CopyTo(destination.Row(i));
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public void Fill(float value)
    {
        for (int i = 0; i < Rows; i++) Row(i).Fill(value);
    }

    internal ref float RefAt(int row, int column) =>
        ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(Storage), Offset + row * Stride + column);

    /// <inheritdoc/>
    public override string ToString() => $"MatrixView{Shape}";
}
