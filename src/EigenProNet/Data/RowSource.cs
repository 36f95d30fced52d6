using System.IO.MemoryMappedFiles;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>
/// Training rows read on demand, a batch at a time: EigenPro 3 and 4 train from a source whose n × d values need not
/// fit one array or RAM (spec eigenpro.md §3: EigenPro 4's point is scale). <see cref="MatrixRows"/> wraps rows in
/// memory; <see cref="NpyRows"/> maps a float32 .npy file.
/// </summary>
public interface IRowSource
{
    /// <summary>Number of rows n.</summary>
    long Count { get; }

    /// <summary>Features per row d.</summary>
    int Dimension { get; }

    /// <summary>Where the rows come from, for messages.</summary>
    string Name { get; }

    /// <summary>Copies rows <paramref name="rows"/> (in that order) into the first rows of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">An index is out of range, or a value is NaN or ±Inf (names the row and column).</exception>
    void Read(ReadOnlySpan<long> rows, MatrixView destination);
}

/// <summary>Rows held in a <see cref="Matrix"/>.</summary>
public sealed class MatrixRows(Matrix rows, string name = "x") : IRowSource
{
    /// <inheritdoc/>
    public long Count => rows.Rows;

    /// <inheritdoc/>
    public int Dimension => rows.Columns;

    /// <inheritdoc/>
    public string Name => name;

    /// <inheritdoc/>
    public void Read(ReadOnlySpan<long> indices, MatrixView destination)
    {
        if (indices.Length > destination.Rows) throw new ArgumentException($"{indices.Length} rows do not fit {destination.Rows}.", nameof(destination));
        if (destination.Columns != rows.Columns) throw new ArgumentException($"Expected {rows.Columns} columns, found {destination.Columns}.", nameof(destination));
        for (int i = 0; i < indices.Length; i++)
        {
            if ((ulong)indices[i] >= (ulong)rows.Rows) throw new ArgumentException($"{name}: row {indices[i]} is outside [0, {rows.Rows}).", nameof(indices));
            rows.Row((int)indices[i]).CopyTo(destination.Row(i));
        }
        RowSourceChecks.Finite(name, indices, destination);
    }
}

/// <summary>
/// A 2-D little-endian float32 .npy file (C order), memory-mapped: rows are read where they lie in the file, so n·d
/// may exceed 2³¹ values and the machine's RAM; the operating system keeps the recently used pages. Non-finite values
/// are refused when their row is read, naming the file, row and column.
/// </summary>
public sealed class NpyRows : IRowSource, IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _dataOffset;

    /// <summary>Maps <paramref name="path"/>.</summary>
    /// <exception cref="DataFormatException">Not a 2-D little-endian float32 C-order .npy, or shorter than its header says.</exception>
    public NpyRows(string path)
    {
        Name = path;
        long length;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            var (descr, fortran, shape, dataOffset, type, bigEndian) = Npy.ReadHeader(stream, path);
            if (type != typeof(float) || bigEndian)
                throw new DataFormatException($"{path}: dtype {descr}; memory-mapped training rows must be little-endian float32 ('<f4'): convert with X.astype('<f4').");
            if (shape.Length != 2) throw new DataFormatException($"{path}: shape ({string.Join(", ", shape)}); expected a 2-D array of rows × features.");
            if (fortran && shape[0] > 1 && shape[1] > 1)
                throw new DataFormatException($"{path}: Fortran (column-major) order; rows must be contiguous: save np.ascontiguousarray(X).");
            if (shape[1] < 1) throw new DataFormatException($"{path}: rows have no features.");
            Count = shape[0];
            Dimension = shape[1];
            _dataOffset = dataOffset;
            length = stream.Length;
            long needed = dataOffset + 4L * Count * Dimension;
            if (length < needed)
                throw DataFormatException.AtOffset(path, length, $"truncated data: {length - dataOffset} of {needed - dataOffset} bytes for shape ({Count}, {Dimension}).");
        }
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
    }

    /// <inheritdoc/>
    public long Count { get; }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public void Read(ReadOnlySpan<long> indices, MatrixView destination)
    {
        if (indices.Length > destination.Rows) throw new ArgumentException($"{indices.Length} rows do not fit {destination.Rows}.", nameof(destination));
        if (destination.Columns != Dimension) throw new ArgumentException($"Expected {Dimension} columns, found {destination.Columns}.", nameof(destination));
        for (int i = 0; i < indices.Length; i++)
        {
            if ((ulong)indices[i] >= (ulong)Count) throw new ArgumentException($"{Name}: row {indices[i]} is outside [0, {Count}).", nameof(indices));
            _view.ReadArray(_dataOffset + 4L * Dimension * indices[i], destination.Storage, destination.Offset + i * destination.Stride, Dimension);
        }
        RowSourceChecks.Finite(Name, indices, destination);
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        _view.Dispose();
        _file.Dispose();
    }
}

internal static class RowSourceChecks
{
    public static void Finite(string name, ReadOnlySpan<long> indices, MatrixView rows)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            var row = rows.Row(i);
            if (float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(row))) continue;
            for (int j = 0; j < row.Length; j++)
                if (!float.IsFinite(row[j]))
                    throw new ArgumentException($"{name}: row {indices[i]}, column {j} is {row[j]}; expected finite values.", "x");
        }
    }
}
