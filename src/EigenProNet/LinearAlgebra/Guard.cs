namespace EigenProNet.LinearAlgebra;

/// <summary>Argument checks with messages of the form "expected …, found …" naming the argument.</summary>
internal static class Guard
{
    public static void SameShape(MatrixView expected, MatrixView actual, string name)
    {
        if (expected.Rows != actual.Rows || expected.Columns != actual.Columns)
            throw new ArgumentException($"Expected shape {expected.Shape}, found {actual.Shape}.", name);
    }

    public static void Shape(MatrixView actual, int rows, int columns, string name)
    {
        if (actual.Rows != rows || actual.Columns != columns)
            throw new ArgumentException($"Expected shape ({rows}, {columns}), found {actual.Shape}.", name);
    }

    public static void Rows(MatrixView actual, int rows, string name)
    {
        if (actual.Rows != rows)
            throw new ArgumentException($"Expected {rows} rows, found shape {actual.Shape}.", name);
    }

    public static void Columns(MatrixView actual, int columns, string name)
    {
        if (actual.Columns != columns)
            throw new ArgumentException($"Expected {columns} columns, found shape {actual.Shape}.", name);
    }

    public static void Positive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentException($"Expected a positive finite value, found {value}.", name);
    }

    public static void Finite(double value, string name)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"Expected a finite value, found {value}.", name);
    }

    /// <summary>Throws if any element is NaN or ±Inf, naming the first offending element.</summary>
    public static void AllFinite(MatrixView m, string name)
    {
        for (int i = 0; i < m.Rows; i++) FiniteRow(m, i, name);
    }

    /// <summary>Throws if an element of row <paramref name="i"/> is NaN or ±Inf, naming it in the coordinates of <paramref name="m"/>.</summary>
    public static void FiniteRow(MatrixView m, int i, string name)
    {
        var row = m.Row(i);
        // One vectorised pass: the sum is non-finite if any element is NaN/±Inf (or if finite values overflow,
        // in which case the exact scan below finds nothing and nothing is thrown).
        if (float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(row))) return;
        for (int j = 0; j < row.Length; j++)
            if (!float.IsFinite(row[j]))
                throw new ArgumentException($"Expected finite values, found {row[j]} at ({i}, {j}) of shape {m.Shape}.", name);
    }
}
