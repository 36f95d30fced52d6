using System.Buffers.Binary;
using System.IO.Compression;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed): a big-endian header
/// <c>0 0 type rank</c>, <c>rank</c> big-endian int32 sizes, then the unsigned bytes.
/// </summary>
public static class IdxFile
{
    /// <summary>Default install folder of Debian's <c>dataset-fashion-mnist</c> package.</summary>
    public const string DebianFashionMnist = "/usr/share/datasets/fashion-mnist";

    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an image file (rank ≥ 2: count × rows × columns …) as count rows of unscaled pixels.</summary>
    public static Matrix ReadImages(string path) => WithGzipErrors(path, () => ReadImagesCore(path));

    /// <summary>Reads a label file (rank 1) and checks every label is below <paramref name="classCount"/>.</summary>
    public static int[] ReadLabels(string path, int classCount) => WithGzipErrors(path, () => ReadLabelsCore(path, classCount));

    private static Matrix ReadImagesCore(string path)
    {
        using var stream = Open(path);
        var dims = ReadHeader(stream, path, minRank: 2);
        long features = 1;
        for (int i = 1; i < dims.Length; i++)
        {
            // Checked as it grows: four sizes of up to 2³¹ each would overflow even a long.
            if (features > Array.MaxLength / dims[i]) throw DataFormatException.AtOffset(path, 4, $"sizes {string.Join("×", dims)} are too large.");
            features *= dims[i];
        }
        if ((long)dims[0] * features > Array.MaxLength) throw DataFormatException.AtOffset(path, 4, $"sizes {string.Join("×", dims)} are too large.");
        long offset = 4 + 4L * dims.Length;
        using var payload = Payload(stream, path, offset, dims[0] * features, $"{dims[0]} images");
        var x = new Matrix(dims[0], (int)features);
        var row = new byte[features];
        for (int i = 0; i < dims[0]; i++)
        {
            int read = payload.ReadAtLeast(row, row.Length, throwOnEndOfStream: false);
            if (read < row.Length)
                throw DataFormatException.AtOffset(path, offset + read, $"truncated: image {i} of {dims[0]} ends early{GzNote(path)}.");
            var dst = x.Row(i);
            for (int j = 0; j < row.Length; j++) dst[j] = row[j];
            offset += read;
        }
        CheckEnd(payload, path, offset);
        return x;
    }

    private static int[] ReadLabelsCore(string path, int classCount)
    {
        using var stream = Open(path);
        var dims = ReadHeader(stream, path, minRank: 1, maxRank: 1);
        long offset = 8;
        using var payload = Payload(stream, path, offset, dims[0], $"{dims[0]} labels");
        var bytes = new byte[dims[0]];
        int read = payload.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < bytes.Length) throw DataFormatException.AtOffset(path, offset + read, $"truncated: {read} of {dims[0]} labels present{GzNote(path)}.");
        var labels = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] >= classCount) throw DataFormatException.AtOffset(path, offset + i, $"label {bytes[i]} is outside 0–{classCount - 1}.");
            labels[i] = bytes[i];
        }
        CheckEnd(payload, path, offset + read);
        return labels;
    }

    /// <summary>The file of a kind ("train-images-idx3-ubyte" …) in <paramref name="folder"/>, plain or .gz, or null.</summary>
    public static string? Find(string folder, string name)
    {
        foreach (var candidate in new[] { name, name + ".gz", name.Replace("-idx", ".idx", StringComparison.Ordinal), name.Replace("-idx", ".idx", StringComparison.Ordinal) + ".gz" })
        {
            string p = Path.Combine(folder, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>True when <paramref name="folder"/> holds MNIST-style IDX training files.</summary>
    public static bool IsMnistFolder(string folder) =>
        Directory.Exists(folder) && Find(folder, "train-images-idx3-ubyte") is not null;

    /// <summary>Loads an MNIST / Fashion-MNIST folder: train-* as the training set, t10k-* (when present) as the test set.</summary>
    public static DataSplit LoadMnistFolder(string folder, IReadOnlyList<string>? classNames = null)
    {
        var train = LoadPair(folder, "train", classNames) ?? throw new DataFormatException(
            $"{folder}: no train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz] (expected an MNIST-style IDX folder).");
        return new DataSplit(train, LoadPair(folder, "t10k", classNames));
    }

    /// <summary>The ten Fashion-MNIST class names.</summary>
    public static IReadOnlyList<string> FashionMnistClassNames { get; } =
        ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    private static Dataset? LoadPair(string folder, string prefix, IReadOnlyList<string>? classNames)
    {
        string? images = Find(folder, $"{prefix}-images-idx3-ubyte");
        string? labels = Find(folder, $"{prefix}-labels-idx1-ubyte");
        if (images is null && labels is null) return null;
        if (images is null || labels is null)
            throw new DataFormatException($"{folder}: found {(images ?? labels)} but not its {(images is null ? "images" : "labels")} file.");
        var x = ReadImages(images);
        var y = ReadLabels(labels, 10);
        if (y.Length != x.Rows) throw new DataFormatException($"{labels}: {y.Length} labels for the {x.Rows} images of {images}.");
        return new Dataset(x, y, 10, images, classNames);
    }

    private static Stream Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (file.Length == 0) { file.Dispose(); throw new DataFormatException($"{path}: the file is empty (expected an IDX file)."); }
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        if (b0 == 0x1f && b1 == 0x8b) return new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16);
        return file;
    }

    private static int[] ReadHeader(Stream stream, string path, int minRank, int maxRank = 4)
    {
        Span<byte> magic = stackalloc byte[4];
        if (ReadSome(stream, magic, path) < 4) throw DataFormatException.AtOffset(path, 0, "truncated header (expected 4 magic bytes).");
        if (magic[0] != 0 || magic[1] != 0)
            throw DataFormatException.AtOffset(path, 0, $"wrong magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(magic):X8} (an IDX file starts with two zero bytes).");
        if (magic[2] != UnsignedByte) throw DataFormatException.AtOffset(path, 2, $"data type 0x{magic[2]:X2} is not supported (expected 0x08, unsigned byte).");
        int rank = magic[3];
        if (rank < minRank || rank > maxRank) throw DataFormatException.AtOffset(path, 3, $"rank {rank}, expected {(minRank == maxRank ? $"{minRank}" : $"{minRank}–{maxRank}")}.");
        var dims = new int[rank];
        Span<byte> four = stackalloc byte[4];
        for (int i = 0; i < rank; i++)
        {
            if (ReadSome(stream, four, path) < 4) throw DataFormatException.AtOffset(path, 4 + 4 * i, "truncated header.");
            uint d = BinaryPrimitives.ReadUInt32BigEndian(four);
            if (d > int.MaxValue || (d == 0 && i > 0)) throw DataFormatException.AtOffset(path, 4 + 4 * i, $"size {d} is not valid.");
            dims[i] = (int)d;
        }
        if (dims[0] == 0) throw DataFormatException.AtOffset(path, 4, "the file holds no records.");
        return dims;
    }

    /// <summary>
    /// The records after the header, known to be all there before anything of the size the header claims is
    /// allocated: a plain file by its length; a gzip file by its trailer's uncompressed size when that agrees with the
    /// header (streamed as before: no extra copy), else — a forged or multi-member file — by decompressing it into
    /// memory that grows with the data (up to one byte past the claim, for the trailing-bytes check), not with the claim.
    /// </summary>
    private static Stream Payload(Stream stream, string path, long headerBytes, long expected, string what)
    {
        if (stream is FileStream file)
        {
            if (file.Length - headerBytes < expected)
                throw DataFormatException.AtOffset(path, file.Length, $"truncated: the header promises {what} ({expected} bytes), the file holds {file.Length - headerBytes}.");
            return file;   // the same stream: disposing it twice is harmless
        }
        if (GzipTrailerSize(path) == (uint)(headerBytes + expected)) return stream;
        var memory = new MemoryStream();
        var buffer = new byte[1 << 16];
        while (memory.Length <= expected)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, expected + 1 - memory.Length));
            if (n == 0) break;
            memory.Write(buffer, 0, n);
        }
        if (memory.Length < expected)
            throw DataFormatException.AtOffset(path, headerBytes + memory.Length, $"truncated: the header promises {what} ({expected} bytes), the data holds {memory.Length}{GzNote(path)}.");
        memory.Position = 0;
        return memory;
    }

    /// <summary>ISIZE, the last four bytes of a gzip file: its (last member's) uncompressed size modulo 2³².</summary>
    private static uint? GzipTrailerSize(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        if (file.Length < 18) return null;   // shorter than a gzip header and trailer
        file.Seek(-4, SeekOrigin.End);
        Span<byte> size = stackalloc byte[4];
        file.ReadExactly(size);
        return BinaryPrimitives.ReadUInt32LittleEndian(size);
    }

    private static int ReadSome(Stream stream, Span<byte> buffer, string path) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    private static T WithGzipErrors<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (InvalidDataException e) { throw new DataFormatException($"{path}: corrupt gzip data ({e.Message})."); }
    }

    private static void CheckEnd(Stream stream, string path, long offset)
    {
        if (stream.ReadByte() >= 0)
            throw DataFormatException.AtOffset(path, offset, "unexpected bytes after the last record (wrong sizes in the header?).");
    }

    private static string GzNote(string path) => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? " (offset in the decompressed data)" : "";
}
