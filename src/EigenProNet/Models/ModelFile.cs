using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Models;

/// <summary>A loaded model file: the model and the free-form metadata saved with it (solver, hyper-parameters…).</summary>
public sealed record SavedModel(KernelModel Model, IReadOnlyDictionary<string, string> Metadata, int FormatVersion);

/// <summary>
/// The <c>.epn</c> model file, version 1 (little-endian):
/// <list type="number">
/// <item>8 bytes magic <c>EPNMODEL</c>, uint32 format version, uint32 header length h;</item>
/// <item>h bytes of UTF-8 JSON: kernel name and parameters, shapes, classes, scaling, metadata;</item>
/// <item>float32 arrays in order: centers (p × d), weights (p × c), then when present the scaling offset and
/// scale (d each) and the Mahalanobis matrix;</item>
/// <item>32 bytes SHA-256 of everything before it.</item>
/// </list>
/// Reading checks the magic, the version (a newer file is refused with its version), the checksum and every length.
/// </summary>
public static class ModelFile
{
    /// <summary>The format version this build writes and the newest it reads.</summary>
    public const int FormatVersion = 1;

    private static readonly byte[] Magic = "EPNMODEL"u8.ToArray();
    private const int MaxHeaderBytes = 1 << 24;

    private sealed record Header
    {
        public required string Kernel { get; init; }
        public double Bandwidth { get; init; }
        public int Depth { get; init; }
        public double Bias { get; init; }
        public int[]? MahalanobisShape { get; init; }
        public required int Centers { get; init; }
        public required int Dimension { get; init; }
        public required int Outputs { get; init; }
        public int ClassCount { get; init; }
        public string[]? ClassNames { get; init; }
        public string Scaling { get; init; } = nameof(Data.Scaling.None);
        public bool ScalingOffset { get; init; }
        public bool ScalingScale { get; init; }
        public Dictionary<string, string> Metadata { get; init; } = [];
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, KernelModel model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (spec, m) = KernelSpec.Of(model.Kernel);
        var pre = model.Preprocessor;
        var header = new Header
        {
            Kernel = spec.Name,
            Bandwidth = spec.Bandwidth,
            Depth = spec.Depth,
            Bias = spec.Bias,
            MahalanobisShape = m is null ? null : [m.Rows, m.Columns],
            Centers = model.Centers.Rows,
            Dimension = model.Dimension,
            Outputs = model.OutputCount,
            ClassCount = model.ClassCount,
            ClassNames = model.ClassNames?.ToArray(),
            Scaling = (pre?.Scaling ?? Scaling.None).ToString(),
            ScalingOffset = pre?.Offset is not null,
            ScalingScale = pre?.Scale is not null,
            Metadata = metadata?.ToDictionary() ?? [],
        };
        byte[] headerBytes = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        AtomicFile.Write(path, file =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes) { file.Write(bytes); sha.AppendData(bytes); }
            Span<byte> four = stackalloc byte[4];
            Put(Magic);
            BinaryPrimitives.WriteInt32LittleEndian(four, FormatVersion); Put(four);
            BinaryPrimitives.WriteInt32LittleEndian(four, headerBytes.Length); Put(four);
            Put(headerBytes);
            PutFloats(model.Centers.Data, Put);
            PutFloats(model.Weights.Data, Put);
            if (pre?.Offset is not null) PutFloats(pre.Offset, Put);
            if (pre?.Scale is not null) PutFloats(pre.Scale, Put);
            if (m is not null) PutFloats(m.Data, Put);
            file.Write(sha.GetHashAndReset());
        });
    }

    /// <summary>Reads a model file.</summary>
    /// <exception cref="DataFormatException">Not a model file, a newer format version, truncated or corrupt (names the file).</exception>
    public static SavedModel Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 16 || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            throw new DataFormatException($"{path}: not an EigenProNet model file (expected the magic 'EPNMODEL').");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version > FormatVersion)
            throw new DataFormatException($"{path}: model format version {version} was written by a newer EigenProNet; this build reads versions up to {FormatVersion}.");
        if (version < 1) throw new DataFormatException($"{path}: invalid model format version {version}.");
        if (bytes.Length < 16 + 32) throw new DataFormatException($"{path}: truncated model file ({bytes.Length} bytes).");
        int bodyLength = bytes.Length - 32;
        if (!SHA256.HashData(bytes.AsSpan(0, bodyLength)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            throw new DataFormatException($"{path}: the model file is corrupt or truncated (checksum mismatch).");
        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || 16L + headerLength > bodyLength)
            throw new DataFormatException($"{path}: invalid header length {headerLength}.");
        Header header;
        try
        {
            header = JsonSerializer.Deserialize<Header>(bytes.AsSpan(16, headerLength), Json)
                     ?? throw new DataFormatException($"{path}: empty model header.");
        }
        catch (JsonException e)
        {
            throw new DataFormatException($"{path}: malformed model header: {e.Message}");
        }
        int offset = 16 + headerLength;
        float[] Take(long count, string what)
        {
            if (count < 0 || offset + 4 * count > bodyLength)
                throw new DataFormatException($"{path}: truncated at byte offset {offset} while reading {what}.");
            var values = new float[count];
            for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(offset + 4 * i));
            offset += (int)(4 * count);
            return values;
        }
        if (header.Centers < 1 || header.Dimension < 1 || header.Outputs < 1)
            throw new DataFormatException($"{path}: invalid shapes in the header (centers {header.Centers}, dimension {header.Dimension}, outputs {header.Outputs}).");
        var centers = new Matrix(header.Centers, header.Dimension, Take((long)header.Centers * header.Dimension, "the centers"));
        var weights = new Matrix(header.Centers, header.Outputs, Take((long)header.Centers * header.Outputs, "the weights"));
        float[]? scalingOffset = header.ScalingOffset ? Take(header.Dimension, "the scaling offset") : null;
        float[]? scalingScale = header.ScalingScale ? Take(header.Dimension, "the scaling scale") : null;
        Matrix? m = header.MahalanobisShape is [int r, int c] ? new Matrix(r, c, Take((long)r * c, "the Mahalanobis matrix")) : null;
        if (offset != bodyLength) throw new DataFormatException($"{path}: {bodyLength - offset} unexpected bytes after the arrays.");
        if (!Enum.TryParse<Scaling>(header.Scaling, out var scaling))
            throw new DataFormatException($"{path}: unknown scaling '{header.Scaling}'.");
        try
        {
            var kernel = new KernelSpec(header.Kernel, header.Bandwidth, header.Depth, header.Bias).Create(m);
            var model = new KernelModel(kernel, centers, weights, header.ClassCount, header.ClassNames,
                scaling == Scaling.None ? null : Preprocessor.Create(scaling, scalingOffset, scalingScale));
            return new SavedModel(model, header.Metadata, version);
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException($"{path}: the model file holds invalid values: {e.Message}");
        }
    }

    private delegate void Writer(ReadOnlySpan<byte> bytes);

    private static void PutFloats(float[] values, Writer put)
    {
        var buffer = new byte[Math.Min(values.Length, 1 << 18) * 4];
        for (int start = 0; start < values.Length; start += buffer.Length / 4)
        {
            int n = Math.Min(buffer.Length / 4, values.Length - start);
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), values[start + i]);
            put(buffer.AsSpan(0, 4 * n));
        }
    }
}
