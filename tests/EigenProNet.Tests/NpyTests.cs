using EigenProNet.Data;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

/// <summary>.npy/.npz against files written by real NumPy (Fixtures/npy/make_fixtures.py) and our own round trips.</summary>
public class NpyTests
{
    private static string Fixture(string name) => Path.Combine(Reference.RepoRoot(), "tests", "EigenProNet.Tests", "Fixtures", "npy", name);

    private static double Cell(int i, int j, double frac) => i * 10 + j + frac;

    [Theory]
    [InlineData("f4_c.npy", "<f4", 3, 4, 0.5)]
    [InlineData("f8_fortran.npy", "<f8", 3, 4, 0.5)]
    [InlineData("f8_big_endian.npy", "<f8", 2, 3, 0.5)]
    [InlineData("u1_c.npy", "|u1", 2, 5, 0.0)]
    [InlineData("f4_v2.npy", "<f4", 2, 2, 0.5)]
    public void ReadsNumPyTables(string file, string descr, int rows, int cols, double frac)
    {
        var a = Npy.Read(Fixture(file));
        Assert.Equal(descr, a.Descr);
        Assert.Equal(new[] { rows, cols }, a.Shape);
        var m = a.ToMatrix();
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) Assert.Equal(Cell(i, j, frac), m[i, j]);
    }

    [Fact]
    public void ReadsOtherShapesAndTypes()
    {
        Assert.Equal(new long[] { -2, -1, 0, 1, 2 }, (long[])Npy.Read(Fixture("i8_1d.npy")).Data);
        Assert.Equal(new[] { true, false, true }, (bool[])Npy.Read(Fixture("bool_1d.npy")).Data);
        var scalar = Npy.Read(Fixture("scalar_f8.npy"));
        Assert.Empty(scalar.Shape);
        Assert.Equal(3.25, scalar.GetDouble(0));
        var empty = Npy.Read(Fixture("empty_f4.npy"));
        Assert.Equal(new[] { 0, 3 }, empty.Shape);
        // 3-D Fortran order: after reading, element [a, b, c] (C order) is a*12 + b*4 + c.
        var cube = (int[])Npy.Read(Fixture("i4_3d_fortran.npy")).Data;
        Assert.Equal(Enumerable.Range(0, 24).ToArray(), cube);
    }

    [Theory]
    [InlineData("object.npy", "not supported")]
    [InlineData("structured.npy", "structured")]
    public void RefusesObjectAndStructuredDtypes(string file, string message) =>
        Assert.Contains(message, Assert.Throws<DataFormatException>(() => Npy.Read(Fixture(file))).Message);

    [Fact]
    public void WritesWhatNumPyWrites()
    {
        // Byte-identical to NumPy's own file for the same float32 array (header, padding to 64, data).
        var numpy = File.ReadAllBytes(Fixture("f4_c.npy"));
        var m = new Matrix(3, 4);
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) m[i, j] = (float)Cell(i, j, 0.5);
        using var dir = new TempDir();
        Npy.Write(dir.File("ours.npy"), m);
        Assert.Equal(numpy, File.ReadAllBytes(dir.File("ours.npy")));
    }

    [Fact]
    public void RoundTripsEveryElementType()
    {
        using var dir = new TempDir();
        Array[] arrays =
        [
            new float[] { 1.5f, -2, float.Epsilon }, new double[] { Math.PI, -0.0, 1e300 }, new sbyte[] { -128, 5, 127 },
            new short[] { -3, 0, 3 }, new int[] { int.MinValue, 0, int.MaxValue }, new long[] { long.MinValue, 1, 2 },
            new byte[] { 0, 128, 255 }, new ushort[] { 0, 1, 65535 }, new uint[] { 0, 1, uint.MaxValue }, new ulong[] { 0, 1, ulong.MaxValue },
            new bool[] { true, false, true },
        ];
        foreach (var data in arrays)
        {
            string path = dir.File("a.npy");
            Npy.Write(path, new NpyArray(data, 3));
            var back = Npy.Read(path);
            Assert.Equal(data, back.Data);
            Assert.Equal(new[] { 3 }, back.Shape);
        }
    }

    [Fact]
    public void NpzArchivesStoredAndCompressed()
    {
        var split = DatasetLoader.Load(Fixture("dataset.npz"));
        Assert.Equal(6, split.Train.Count);
        Assert.Equal(3, split.Train.ClassCount);
        Assert.Equal(2, split.Test!.Count);
        Assert.Equal((float)Cell(5, 2, 0.5), split.Train.Features[5, 2]);
        var compressed = Npy.ReadArchive(Fixture("dataset_compressed.npz"));
        Assert.Equal(new[] { "X", "y" }, compressed.Keys.Order());

        using var dir = new TempDir();
        var arrays = new Dictionary<string, NpyArray> { ["X"] = new(new float[] { 1, 2, 3, 4 }, 2, 2), ["y"] = new(new long[] { 0, 1 }, 2) };
        foreach (bool c in new[] { false, true })
        {
            Npy.WriteArchive(dir.File("o.npz"), arrays, compressed: c);
            var back = Npy.ReadArchive(dir.File("o.npz"));
            Assert.Equal(arrays["X"].Data, back["X"].Data);
            Assert.Equal(arrays["y"].Data, back["y"].Data);
        }
    }

    [Fact]
    public void NpyTableIsADataset()
    {
        var d = DatasetLoader.Load(Fixture("table.npy")).Train;
        Assert.Equal(6, d.Count);
        Assert.Equal(2, d.Dimension);
        Assert.Equal(new[] { 0, 0, 1, 1, 2, 2 }, d.Labels);
    }

    public static TheoryData<string, Func<byte[], byte[]>, string> Defects => new()
    {
        { "empty", _ => [], "empty" },
        { "magic", b => { b[1] = (byte)'X'; return b; }, "wrong magic" },
        { "version", b => { b[6] = 9; return b; }, "version 9.0" },
        { "truncated data", b => b[..^5], "truncated data" },
        { "truncated header", b => b[..40], "truncated header" },
        { "extra key", b => Replace(b, "'descr'", "'xescr'"), "unexpected or repeated header key 'xescr'" },
        { "missing key", b => Replace(b, "'fortran_order': False, ", "                        "), "must hold" },
        { "bad bool", b => Replace(b, "False", "Fals "), "True or False" },
        { "negative size", b => Replace(b, "(3, 4)", "(-3,4)"), "non-negative integer" },
        { "dtype", b => Replace(b, "<f4", "<U4"), "not supported" },
        { "header length", b => { b[8] = 0xff; b[9] = 0xff; return b; }, "exceeds" },
    };

    private static byte[] Replace(byte[] b, string from, string to)
    {
        string s = System.Text.Encoding.Latin1.GetString(b);
        Assert.Contains(from, s);
        Assert.Equal(from.Length, to.Length);
        return System.Text.Encoding.Latin1.GetBytes(s.Replace(from, to));
    }

    [Theory]
    [MemberData(nameof(Defects))]
    public void FuzzedFilesGiveClearErrors(string name, Func<byte[], byte[]> damage, string message)
    {
        using var dir = new TempDir();
        string path = dir.Write(name.Replace(' ', '_') + ".npy", damage(File.ReadAllBytes(Fixture("f4_c.npy"))));
        var e = Assert.Throws<DataFormatException>(() => Npy.Read(path));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void NpzWithoutFeaturesOrWithMismatchedRowsIsAClearError()
    {
        using var dir = new TempDir();
        string missing = dir.File("missing.npz");
        Npy.WriteArchive(missing, new Dictionary<string, NpyArray> { ["y"] = new(new long[] { 0, 1 }, 2) });
        var e = Assert.Throws<DataFormatException>(() => DatasetLoader.Load(missing));
        Assert.Contains("none of the arrays X", e.Message);
        Assert.Contains(missing, e.Message);
        string rows = dir.File("rows.npz");
        Npy.WriteArchive(rows, new Dictionary<string, NpyArray> { ["X"] = new(new float[] { 1, 2, 3, 4 }, 2, 2), ["y"] = new(new long[] { 0, 1, 1 }, 3) });
        Assert.Contains("X has 2 rows but y has 3", Assert.Throws<DataFormatException>(() => DatasetLoader.Load(rows)).Message);
    }

    [Fact]
    public void NotAZipIsAClearError()
    {
        using var dir = new TempDir();
        string path = dir.WriteText("x.npz", "not a zip");
        Assert.Contains("not a valid .npz", Assert.Throws<DataFormatException>(() => Npy.ReadArchive(path)).Message);
    }

    [Fact]
    public void LabelsBesideAMappedNpyAreCheckedValueByValue()
    {
        using var dir = new TempDir();
        string Write(string name, NpyArray a) { var path = dir.File(name); Npy.Write(path, a); return path; }
        Assert.Equal(new[] { 0, 3, 1 }, Npy.ReadLabels(Write("int.npy", new NpyArray(new long[] { 0, 3, 1 }, 3)), 3));
        Assert.Equal(new[] { 2, 0 }, Npy.ReadLabels(Write("whole-floats.npy", new NpyArray(new float[] { 2, 0 }, 2)), 2));
        foreach (var (name, array, rows, expected) in new (string, NpyArray, long, string)[]
        {
            ("fraction.npy", new NpyArray(new float[] { 1, 2.5f }, 2), 2, "label 2.5 at index 1"),
            ("negative.npy", new NpyArray(new int[] { 0, -1 }, 2), 2, "label -1 at index 1"),
            ("nan.npy", new NpyArray(new double[] { double.NaN }, 1), 1, "label NaN at index 0"),
            ("short.npy", new NpyArray(new int[] { 0, 1 }, 2), 3, "expected (3,)"),
            ("matrix.npy", new NpyArray(new int[] { 0, 1, 1, 0 }, 2, 2), 2, "shape (2, 2)"),
        })
        {
            string path = Write(name, array);
            var e = Assert.Throws<DataFormatException>(() => Npy.ReadLabels(path, rows));
            Assert.Contains(expected, e.Message);
            Assert.Contains(path, e.Message);
        }
    }
}
