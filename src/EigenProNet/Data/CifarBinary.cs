using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>
/// CIFAR-10 binary batches: records of 1 label byte (0–9) and 3 072 pixel bytes (1 024 red, 1 024 green,
/// 1 024 blue, each 32×32 row-major). Pixels are returned unscaled (0–255).
/// </summary>
public static class CifarBinary
{
    /// <summary>Bytes per record.</summary>
    public const int RecordLength = 1 + PixelCount;

    /// <summary>Pixels per image.</summary>
    public const int PixelCount = 3 * 32 * 32;

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>The class names of CIFAR-10 (as in batches.meta.txt).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>True when <paramref name="folder"/> holds CIFAR-10 batches (data_batch_*.bin or test_batch.bin).</summary>
    public static bool IsBatchFolder(string folder) =>
        Directory.Exists(folder) && (TrainFiles(folder).Length > 0 || File.Exists(Path.Combine(folder, "test_batch.bin")));

    /// <summary>
    /// Loads a batch folder: every <c>data_batch_*.bin</c> as the training set, <c>test_batch.bin</c> (when present) as the test set.
    /// </summary>
    public static DataSplit LoadFolder(string folder)
    {
        var train = TrainFiles(folder);
        if (train.Length == 0) throw new DataFormatException($"{folder}: no data_batch_*.bin files (expected a CIFAR-10 binary batch folder).");
        string test = Path.Combine(folder, "test_batch.bin");
        return new DataSplit(Load(train, folder), File.Exists(test) ? Load([test], test) : null);
    }

    /// <summary>Loads and concatenates the records of <paramref name="files"/>.</summary>
    /// <exception cref="DataFormatException">A file is empty, truncated or holds a label outside 0–9 (names file and byte offset).</exception>
    public static Dataset Load(IReadOnlyList<string> files, string? source = null)
    {
        long total = 0;
        foreach (var f in files)
        {
            long length = new FileInfo(f).Length;
            if (length == 0) throw new DataFormatException($"{f}: the file is empty (expected {RecordLength}-byte CIFAR-10 records).");
            if (length % RecordLength != 0)
                throw DataFormatException.AtOffset(f, length / RecordLength * RecordLength,
                    $"truncated record: the file has {length} bytes, not a multiple of the {RecordLength}-byte record length.");
            total += length / RecordLength;
        }
        if (total > int.MaxValue / PixelCount) throw new DataFormatException($"{source ?? files[0]}: {total} records are too many for one matrix.");
        var x = new Matrix((int)total, PixelCount);
        var labels = new int[total];
        int row = 0;
        const int chunkRecords = 512;
        var buffer = new byte[chunkRecords * RecordLength];
        foreach (var f in files)
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            long offset = 0;
            while (true)
            {
                int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                if (read == 0) break;
                if (read % RecordLength != 0) throw DataFormatException.AtOffset(f, offset + read / RecordLength * RecordLength, "the file changed while it was read.");
                int records = read / RecordLength;
                for (int r = 0; r < records; r++, row++)
                {
                    var record = buffer.AsSpan(r * RecordLength, RecordLength);
                    if (record[0] >= ClassCount)
                        throw DataFormatException.AtOffset(f, offset + (long)r * RecordLength, $"label {record[0]} is outside 0–9.");
                    labels[row] = record[0];
                    var dst = x.Row(row);
                    var src = record[1..];
                    for (int j = 0; j < PixelCount; j++) dst[j] = src[j];
                }
                offset += read;
            }
        }
        return new Dataset(x, labels, ClassCount, source ?? string.Join(", ", files), ClassNames);
    }

    /// <summary>Writes records in the CIFAR-10 binary layout (pixels must be integers 0–255); used to cut samples.</summary>
    public static void Write(string path, Dataset data)
    {
        if (data.Labels is null || data.Dimension != PixelCount)
            throw new ArgumentException($"Expected a CIFAR-10 classification dataset with {PixelCount} features, found {data}.", nameof(data));
        AtomicFile.Write(path, stream =>
        {
            var record = new byte[RecordLength];
            for (int i = 0; i < data.Count; i++)
            {
                record[0] = checked((byte)data.Labels[i]);
                var row = data.Features.Row(i);
                for (int j = 0; j < PixelCount; j++)
                {
                    float v = row[j];
                    if (v is < 0 or > 255 || v != MathF.Round(v)) throw new ArgumentException($"Row {i} holds {v}, not a 0–255 pixel.", nameof(data));
                    record[1 + j] = (byte)v;
                }
                stream.Write(record);
            }
        });
    }

    private static string[] TrainFiles(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFiles(folder, "data_batch_*.bin").Order(StringComparer.Ordinal).ToArray()
            : [];
}
