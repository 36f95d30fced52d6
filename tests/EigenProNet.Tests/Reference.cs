using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

/// <summary>Deliberately naive float64 references and test helpers.</summary>
internal static class Reference
{
    /// <summary>Unit roundoff of float32.</summary>
    public const double U = 1.0 / (1 << 24);

    /// <summary>A context on <paramref name="path"/> with up to <paramref name="threads"/> threads (fewer on a smaller machine).</summary>
    public static ComputeContext Context(SimdPath path, int threads) => new(Math.Min(threads, Environment.ProcessorCount), path);

    public static double[,] ToDouble(MatrixView m)
    {
        var r = new double[m.Rows, m.Columns];
        for (int i = 0; i < m.Rows; i++) for (int j = 0; j < m.Columns; j++) r[i, j] = m[i, j];
        return r;
    }

    public static double Op(MatrixView m, Transpose t, int i, int j) => t == Transpose.No ? m[i, j] : m[j, i];

    /// <summary>α·op(A)·op(B) + β·C in float64, plus the elementwise bound α·|op(A)|·|op(B)| + |β·C| for the error model.</summary>
    public static (double[,] Value, double[,] Magnitude) Gemm(Transpose ta, Transpose tb, double alpha, MatrixView a, MatrixView b, double beta, MatrixView c)
    {
        int m = c.Rows, n = c.Columns, k = ta == Transpose.No ? a.Columns : a.Rows;
        var v = new double[m, n];
        var mag = new double[m, n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, sa = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = Op(a, ta, i, p) * Op(b, tb, p, j);
                    s += x;
                    sa += Math.Abs(x);
                }
                double cij = beta == 0 ? 0 : beta * c[i, j];
                v[i, j] = alpha * s + cij;
                mag[i, j] = Math.Abs(alpha) * sa + Math.Abs(cij);
            }
        return (v, mag);
    }

    public static Matrix Random(int rows, int cols, int seed, float scale = 1f) => Matrix.RandomNormal(rows, cols, seed, scale);

    /// <summary>Finds the repository root (the folder holding EigenProNet.slnx).</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EigenProNet.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Repository root (EigenProNet.slnx) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The shared real-data folder beside the repository (../shared/data).</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared", "data"));

    /// <summary>
    /// The first <paramref name="count"/> (≤ 2 000) real CIFAR-10 records of the bundled sample's data_batch_1.bin as
    /// pixel/255 rows (a plain test reader, independent of the library's loader).
    /// </summary>
    public static Matrix CifarRows(int count)
    {
        string path = Path.Combine(RepoRoot(), "data", "cifar10-sample", "data_batch_1.bin");
        var bytes = new byte[count * 3073];
        using (var f = File.OpenRead(path)) f.ReadExactly(bytes);
        var m = new Matrix(count, 3072);
        for (int i = 0; i < count; i++)
            for (int j = 0; j < 3072; j++) m[i, j] = bytes[i * 3073 + 1 + j] / 255f;
        return m;
    }
}
