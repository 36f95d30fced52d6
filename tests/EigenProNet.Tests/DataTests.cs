using System.IO.Compression;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class DataTests
{
    private static string CifarFolder => RealData.CifarFolder;
    private static string Sample => Path.Combine(Reference.RepoRoot(), "data", "cifar10-sample");

    /// <summary>Real CIFAR-10 records from the bundled sample's test batch (500 records).</summary>
    private static byte[] CifarRecords(int count) =>
        File.ReadAllBytes(Path.Combine(Sample, "test_batch.bin")).AsSpan(0, count * CifarBinary.RecordLength).ToArray();

    [RealDataFact(RealDataKind.Cifar10)]
    public void CifarBatchMatchesTheRawBytes()
    {
        var data = CifarBinary.Load([Path.Combine(CifarFolder, "test_batch.bin")]);
        var raw = File.ReadAllBytes(Path.Combine(CifarFolder, "test_batch.bin"));
        Assert.Equal(10_000, data.Count);
        Assert.Equal(3072, data.Dimension);
        foreach (int i in new[] { 0, 1, 4321, 9999 })
        {
            Assert.Equal(raw[i * 3073], data.Labels![i]);
            for (int j = 0; j < 3072; j += 97) Assert.Equal(raw[i * 3073 + 1 + j], data.Features[i, j]);
        }
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, data.Labels!.Count(l => l == c)));
    }

    [Fact]
    public void BundledSampleIsAStratifiedCifarFolderWithTestSplit()
    {
        var split = DatasetLoader.Load(Sample);
        Assert.Equal(DatasetFormat.CifarBinary, DatasetLoader.Detect(Sample));
        Assert.Equal(2000, split.Train.Count);
        Assert.Equal(500, split.Test!.Count);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(200, split.Train.Labels!.Count(l => l == c)));
        Assert.Equal("airplane", split.Train.ClassNames![0]);
    }

    [Theory]
    [InlineData(0, "empty")]
    [InlineData(3073 * 2 + 100, "truncated record")]
    public void CifarRejectsEmptyAndTruncatedFiles(int length, string message)
    {
        using var dir = new TempDir();
        var bytes = CifarRecords(3);
        string path = dir.Write("data_batch_1.bin", bytes[..Math.Min(length, bytes.Length)]);
        var e = Assert.Throws<DataFormatException>(() => CifarBinary.Load([path]));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
        if (length > 0) Assert.Contains($"byte offset {2 * 3073}", e.Message);
    }

    [Fact]
    public void CifarRejectsLabelOutOfRangeWithItsOffset()
    {
        using var dir = new TempDir();
        var bytes = CifarRecords(3);
        bytes[2 * 3073] = 10;
        string path = dir.Write("b.bin", bytes);
        var e = Assert.Throws<DataFormatException>(() => CifarBinary.Load([path]));
        Assert.Contains("label 10", e.Message);
        Assert.Contains($"byte offset {2 * 3073}", e.Message);
    }

    private static byte[] Idx(byte type, int[] dims, byte[] payload)
    {
        var ms = new MemoryStream();
        ms.Write([0, 0, type, (byte)dims.Length]);
        foreach (int d in dims) ms.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        ms.Write(payload);
        return ms.ToArray();
    }

    private static byte[] Gzip(byte[] bytes)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(bytes);
        return ms.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxFolderReadsPlainAndGzip(bool gz)
    {
        using var dir = new TempDir();
        var pixels = Enumerable.Range(0, 3 * 2 * 2).Select(i => (byte)(i * 20)).ToArray();
        string ext = gz ? ".gz" : "";
        dir.Write("train-images-idx3-ubyte" + ext, Wrap(Idx(8, [3, 2, 2], pixels), gz));
        dir.Write("train-labels-idx1-ubyte" + ext, Wrap(Idx(8, [3], [7, 0, 9]), gz));
        var split = DatasetLoader.Load(dir.Path);
        Assert.Null(split.Test);
        Assert.Equal(new[] { 7, 0, 9 }, split.Train.Labels);
        Assert.Equal(4, split.Train.Dimension);
        Assert.Equal(20f * 5, split.Train.Features[1, 1]);
    }

    private static byte[] Wrap(byte[] bytes, bool gz) => gz ? Gzip(bytes) : bytes;

    /// <summary>
    /// A gzip IDX file whose trailer agrees with its header is streamed; any other (two gzip members, a forged trailer,
    /// truncated or padded data) is checked against its decompressed size before the images are allocated. Both read
    /// the same values and give the same errors.
    /// </summary>
    [Theory]
    [InlineData("one-member", null)]
    [InlineData("two-members", null)]
    [InlineData("truncated", "truncated")]
    [InlineData("truncated-trailer-agrees", "corrupt gzip")]
    [InlineData("extra", "unexpected bytes")]
    public void GzipIdxIsCheckedBeforeItsImagesAreAllocated(string variant, string? error)
    {
        using var dir = new TempDir();
        var pixels = Enumerable.Range(0, 3 * 2 * 2).Select(i => (byte)(i * 20)).ToArray();
        var idx = Idx(8, [3, 2, 2], pixels);
        byte[] file = variant switch
        {
            "two-members" => [.. Gzip(idx[..10]), .. Gzip(idx[10..])],
            "truncated" => Gzip(idx[..^3]),
            "extra" => Gzip([.. idx, 0]),
            _ => Gzip(idx[..(variant == "truncated-trailer-agrees" ? ^3 : ^0)]),
        };
        // The trailer (ISIZE) forged to claim the full size of data 3 bytes short: the rows are streamed, and the gzip
        // layer finds the trailer false at the end of the stream.
        if (variant == "truncated-trailer-agrees") System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(file.Length - 4), (uint)idx.Length);
        string path = dir.Write("images-idx3-ubyte.gz", file);
        if (error is null)
        {
            var x = IdxFile.ReadImages(path);
            Assert.Equal((3, 4), (x.Rows, x.Columns));
            Assert.Equal(pixels.Select(b => (float)b), x.Data);
            return;
        }
        var e = Assert.ThrowsAny<IOException>(() => IdxFile.ReadImages(path));
        Assert.Contains(error, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("magic")]
    [InlineData("truncated")]
    [InlineData("extra")]
    [InlineData("label")]
    [InlineData("corrupt-gzip")]
    [InlineData("count")]
    public void IdxFuzzGivesClearErrors(string defect)
    {
        using var dir = new TempDir();
        var images = Idx(8, [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
        var labels = Idx(8, [2], [1, 2]);
        string expected;
        switch (defect)
        {
            case "magic": images[0] = 0x1f; images[1] = 0x00; expected = "wrong magic"; break;
            case "truncated": images = images[..^3]; expected = "truncated"; break;
            case "extra": images = [.. images, 0]; expected = "unexpected bytes"; break;
            case "label": labels[^1] = 12; expected = "label 12"; break;
            case "count": labels = Idx(8, [3], [1, 2, 3]); expected = "3 labels for the 2 images"; break;
            default: images = Gzip(images); images[^6] ^= 0xff; images[20] ^= 0xff; expected = "gzip"; break;
        }
        dir.Write("train-images-idx3-ubyte" + (defect == "corrupt-gzip" ? ".gz" : ""), images);
        dir.Write("train-labels-idx1-ubyte", labels);
        var e = Assert.ThrowsAny<IOException>(() => DatasetLoader.Load(dir.Path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(dir.Path, e.Message);
    }

    [RealDataFact(RealDataKind.FashionMnist)]
    public void FashionMnistFromTheDebianPackage()
    {
        Assert.True(Directory.Exists(IdxFile.DebianFashionMnist),
            "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist (see ../shared/data/README.md; .ci/run installs it).");
        var split = DatasetLoader.Load("fashion-mnist");
        Assert.Equal(60_000, split.Train.Count);
        Assert.Equal(10_000, split.Test!.Count);
        Assert.Equal(784, split.Train.Dimension);
        Assert.Equal("ankle boot", split.Train.ClassNames![9]);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(6000, split.Train.Labels!.Count(l => l == c)));
        Assert.InRange(split.Train.Features.Data.Max(), 255f, 255f);
    }

    [Fact]
    public void CsvDetectsHeaderDelimiterAndStringLabels()
    {
        using var dir = new TempDir();
        string path = dir.WriteText("t.csv", "a;b;species\n1.5;2;setosa\n3;-4e-1;virginica\n\n5;6;setosa\n");
        var d = CsvTable.Load(path);
        Assert.Equal(3, d.Count);
        Assert.Equal(new[] { "setosa", "virginica" }, d.ClassNames);
        Assert.Equal(new[] { 0, 1, 0 }, d.Labels);
        Assert.Equal(-0.4f, d.Features[1, 1]);

        var byName = CsvTable.Load(dir.WriteText("u.csv", "label,x\n2,0.5\n10,1.5\n"), new CsvOptions { LabelColumn = "label" });
        Assert.Equal(new[] { "2", "10" }, byName.ClassNames); // numeric labels sort numerically
        Assert.Equal(0.5f, byName.Features[0, 0]);

        var test = CsvTable.Load(dir.WriteText("v.csv", "x,label\n1,10\n"), new CsvOptions { LabelColumn = "-1" }, byName.ClassNames);
        Assert.Equal(new[] { 1 }, test.Labels);

        var reg = CsvTable.Load(dir.WriteText("r.csv", "1 2 0.25\n3 4 -1.5\n"), new CsvOptions { Regression = true });
        Assert.Equal(-1.5f, reg.Targets![1, 0]);
        Assert.Equal(2, reg.Dimension);
    }

    [Theory]
    [InlineData("x,y,label\n1,2,a\n1,nan,b\n", "line 3", "finite")]
    [InlineData("x,y,label\n1,2,a\n1,abc,b\n", "line 3", "not a number")]
    [InlineData("x,y,label\n1,2,a\n1,2\n", "line 3", "2 fields")]
    [InlineData("x,y,label\n1,2,a\n1,1e39,b\n", "line 3", "finite float32")]
    [InlineData("", "empty", "")]
    [InlineData("x,y,label\n", "no data rows", "")]
    [InlineData("x,y,label\n1,2,\n", "line 2", "empty")]
    public void CsvFuzzGivesLineNumbers(string text, string where, string what)
    {
        using var dir = new TempDir();
        string path = dir.WriteText("bad.csv", text);
        var e = Assert.Throws<DataFormatException>(() => CsvTable.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void CsvTestLabelUnknownToTrainingIsAnError()
    {
        using var dir = new TempDir();
        string path = dir.WriteText("t.csv", "1,cat\n2,emu\n");
        var e = Assert.Throws<DataFormatException>(() => CsvTable.Load(path, null, ["cat", "dog"]));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("'emu'", e.Message);
    }

    [RealDataFact(RealDataKind.Uci)]
    public void UciDatasetWithFoldsAndSeparateTestFile()
    {
        var iris = UciDataset.Load(Path.Combine(RealData.UciRoot, "iris"));
        Assert.Equal(150, iris.Data.Count);
        Assert.Equal(4, iris.Data.Dimension);
        Assert.Equal(3, iris.Data.ClassCount);
        Assert.Equal(75, iris.ValidationSplit.Train.Length);
        Assert.Equal(75, iris.ValidationSplit.Validation.Length);
        Assert.Equal(4, iris.Folds.Count);
        Assert.Empty(iris.Folds[0].Train.Intersect(iris.Folds[0].Test));
        Assert.Null(iris.Test);

        var hv = UciDataset.Load(Path.Combine(RealData.UciRoot, "hill-valley"));
        Assert.Equal(606, hv.Data.Count);
        Assert.Equal(606, hv.Test!.Count);
        Assert.Equal(100, hv.Data.Dimension);

        var all = UciDataset.List(RealData.UciRoot);
        Assert.Equal(48, all.Count);
    }

    [Fact]
    public void UciMalformedRowNamesFileAndLine()
    {
        using var dir = new TempDir();
        string folder = Path.Combine(dir.Path, "toy");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "toy.txt"), "n_entradas= 2\nn_clases= 2\nfich1= toy_R.dat\nn_patrons1= 2\n");
        File.WriteAllText(Path.Combine(folder, "toy_R.dat"), "\tf1\tf2\tclase\n1\t0.1\t0.2\t0\n2\t0.3\t0.4\t5\n");
        File.WriteAllText(Path.Combine(folder, "conxuntos.dat"), "0\n1\n");
        File.WriteAllText(Path.Combine(folder, "conxuntos_kfold.dat"), string.Concat(Enumerable.Repeat("0\n1\n", 4)));
        var e = Assert.Throws<DataFormatException>(() => UciDataset.Load(folder));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("class '5'", e.Message);
    }

    [Fact]
    public void ScalingsMatchTheirDefinitions()
    {
        var x = Matrix.FromRows([0, 10, -2], [255, 20, 2], [51, 30, 0]);
        var pixels = Preprocessor.Fit(Scaling.Pixels, x).Transform(x);
        Assert.Equal(1f, pixels[1, 0]);
        Assert.Equal(0.2f, pixels[2, 0], 6);

        var unit = Preprocessor.Fit(Scaling.UnitRange, x).Transform(x);   // min per feature: 0, 10, -2; then row / row max
        Assert.Equal(new[] { 0f, 0f, 0f }, unit.Row(0).ToArray());
        Assert.Equal(1f, unit[1, 0]);
        Assert.Equal(10f / 255f, unit[1, 1], 6);
        Assert.Equal(1f, unit[2, 0]);

        var l2 = Preprocessor.Fit(Scaling.L2, x).Transform(x);
        for (int i = 0; i < 3; i++) Assert.Equal(1.0, Math.Sqrt(l2.Row(i).ToArray().Sum(v => (double)v * v)), 6);

        var std = Preprocessor.Fit(Scaling.Standardize, x).Transform(x);
        for (int j = 0; j < 3; j++)
        {
            var col = Enumerable.Range(0, 3).Select(i => (double)std[i, j]).ToArray();
            Assert.Equal(0, col.Average(), 6);
            Assert.Equal(1, Math.Sqrt(col.Select(v => v * v).Average()), 5);
        }
        var constant = Matrix.FromRows([1, 2], [1, 3]);
        Assert.Equal(0f, Preprocessor.Fit(Scaling.Standardize, constant).Transform(constant)[0, 0]);
    }

    [Fact]
    public void StratifiedSamplingAndSplitsAreProportionalDisjointAndSeeded()
    {
        var labels = Enumerable.Range(0, 1000).Select(i => i < 700 ? 0 : i < 900 ? 1 : 2).ToArray();
        var rows = Preprocessing.StratifiedSample(labels, 3, 100, seed: 5);
        Assert.Equal(100, rows.Distinct().Count());
        Assert.Equal(70, rows.Count(r => labels[r] == 0));
        Assert.Equal(20, rows.Count(r => labels[r] == 1));
        Assert.Equal(rows, Preprocessing.StratifiedSample(labels, 3, 100, seed: 5));
        Assert.NotEqual(rows, Preprocessing.StratifiedSample(labels, 3, 100, seed: 6));

        var data = new Dataset(new Matrix(1000, 2), labels, 3, "synthetic");
        var (train, val) = Preprocessing.TrainValidationSplit(data, 0.2, seed: 1);
        Assert.Equal(800, train.Count);
        Assert.Equal(200, val.Count);
        Assert.Equal(40, val.Labels!.Count(l => l == 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Preprocessing.TrainValidationSplit(data, 1.0, 1));
    }

    [Fact]
    public void DatasetRejectsMismatchedRowsAndLabelsOutOfRange()
    {
        Assert.Contains("2 labels", Assert.Throws<ArgumentException>(() => new Dataset(new Matrix(3, 2), [0, 1], 2, "s")).Message);
        Assert.Contains("label 4", Assert.Throws<ArgumentException>(() => new Dataset(new Matrix(2, 2), [0, 4], 2, "s")).Message);
    }

    [Fact]
    public void LoaderNamesUnknownPaths()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => DatasetLoader.Load(dir.File("missing.csv")));
        Assert.Contains("no known dataset", Assert.Throws<DataFormatException>(() => DatasetLoader.Load(dir.Path)).Message);
        Assert.Contains("unknown file type", Assert.Throws<DataFormatException>(() => DatasetLoader.Load(dir.WriteText("a.xyz", "1"))).Message);
    }

    [Fact]
    public void AtomicWriteLeavesNoFileWhenTheWriterFails()
    {
        using var dir = new TempDir();
        string path = dir.File("out.bin");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => { s.WriteByte(1); throw new InvalidOperationException("boom"); }));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
