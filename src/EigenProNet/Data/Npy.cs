using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>
/// An n-dimensional NumPy array in C (row-major) order. <see cref="Data"/> is a typed .NET array:
/// float[], double[], sbyte[], short[], int[], long[], byte[], ushort[], uint[], ulong[] or bool[].
/// </summary>
public sealed class NpyArray
{
    /// <summary>Wraps <paramref name="data"/> (C order) with <paramref name="shape"/>.</summary>
    public NpyArray(Array data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        Descr = Npy.DescrOf(data.GetType().GetElementType()!);
        long count = 1;
        foreach (int s in shape)
        {
            if (s < 0) throw new ArgumentException($"Negative size in shape ({string.Join(", ", shape)}).", nameof(shape));
            count *= s;
        }
        if (count != data.Length) throw new ArgumentException($"Shape ({string.Join(", ", shape)}) holds {count} elements, the data {data.Length}.", nameof(shape));
        Data = data;
        Shape = shape;
    }

    /// <summary>The elements in C order.</summary>
    public Array Data { get; }

    /// <summary>The sizes per axis (empty for a scalar).</summary>
    public int[] Shape { get; }

    /// <summary>NumPy dtype string of the data as written, little-endian (e.g. "&lt;f4").</summary>
    public string Descr { get; }

    /// <summary>Number of elements.</summary>
    public int Count => Data.Length;

    /// <summary>The array as a float32 matrix: 2-D as is, 1-D as one column. Values must be finite in float32.</summary>
    public Matrix ToMatrix(string name = "array")
    {
        if (Shape.Length is not (1 or 2)) throw new InvalidDataException($"{name}: expected a 1-D or 2-D array, found shape ({string.Join(", ", Shape)}).");
        int rows = Shape[0], cols = Shape.Length == 2 ? Shape[1] : 1;
        var m = new Matrix(rows, cols);
        var dst = m.Data;
        for (int i = 0; i < Count; i++)
        {
            double v = GetDouble(i);
            float f = (float)v;
            if (!float.IsFinite(f)) throw new InvalidDataException($"{name}: element {i} (row {i / Math.Max(cols, 1)}) is {v}, not a finite float32 value.");
            dst[i] = f;
        }
        return m;
    }

    /// <summary>The elements as int32 (integers or integral floats only).</summary>
    public int[] ToInt32(string name = "array")
    {
        var r = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            double v = GetDouble(i);
            if (v != Math.Round(v) || v < int.MinValue || v > int.MaxValue)
                throw new InvalidDataException($"{name}: element {i} is {v}, not an integer label.");
            r[i] = (int)v;
        }
        return r;
    }

    /// <summary>Element <paramref name="i"/> (C order) converted to double.</summary>
    public double GetDouble(int i) => Data switch
    {
        float[] a => a[i],
        double[] a => a[i],
        sbyte[] a => a[i],
        short[] a => a[i],
        int[] a => a[i],
        long[] a => a[i],
        byte[] a => a[i],
        ushort[] a => a[i],
        uint[] a => a[i],
        ulong[] a => a[i],
        bool[] a => a[i] ? 1 : 0,
        _ => throw new InvalidOperationException("unreachable"),
    };

    /// <summary>A float32 matrix as a 2-D array.</summary>
    public static NpyArray FromMatrix(MatrixView m)
    {
        var data = new float[m.Rows * m.Columns];
        m.CopyTo(new MatrixView(data, 0, m.Rows, m.Columns, m.Columns));
        return new NpyArray(data, m.Rows, m.Columns);
    }
}

/// <summary>Reader and writer of NumPy .npy files (versions 1–3 read, 1.0 written) and .npz archives (spec npy.md).</summary>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int MaxHeaderLength = 10000;

    /// <summary>Reads a .npy file.</summary>
    /// <exception cref="DataFormatException">Wrong magic, malformed header, unsupported dtype or truncated data (names file and offset).</exception>
    public static NpyArray Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads one array from <paramref name="stream"/>; <paramref name="name"/> is used in messages.</summary>
    public static NpyArray Read(Stream stream, string name)
    {
        var (descr, fortran, shape, dataOffset, type, bigEndian) = ReadHeader(stream, name);
        int size = Marshal.SizeOf(type == typeof(bool) ? typeof(byte) : type);
        long count = 1;
        foreach (int s in shape) count = checked(count * s);
        if (count * size > Array.MaxLength) throw DataFormatException.AtOffset(name, dataOffset, $"{count} elements are too many.");
        var data = Array.CreateInstance(type, count);
        var bytes = new byte[count * size];
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < bytes.Length)
            throw DataFormatException.AtOffset(name, dataOffset + read, $"truncated data: {read} of {bytes.Length} bytes for shape ({string.Join(", ", shape)}) of {descr} (file not fully written?).");
        if (bigEndian && size > 1)
            for (long i = 0; i < bytes.LongLength; i += size) Array.Reverse(bytes, (int)i, size);
        if (type == typeof(bool))
        {
            var b = (bool[])data;
            for (int i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] > 1) throw DataFormatException.AtOffset(name, dataOffset + i, $"byte {bytes[i]} is not a boolean.");
                b[i] = bytes[i] != 0;
            }
        }
        else Buffer.BlockCopy(bytes, 0, data, 0, bytes.Length);
        if (fortran && shape.Length > 1) data = ToCOrder(data, shape);
        return new NpyArray(data, shape);
    }

    /// <summary>The header of a .npy stream, leaving the stream at the first data byte.</summary>
    internal static (string Descr, bool Fortran, int[] Shape, long DataOffset, Type Type, bool BigEndian) ReadHeader(Stream stream, string name)
    {
        var pre = new byte[10];
        int got = stream.ReadAtLeast(pre, 10, throwOnEndOfStream: false);
        if (got == 0) throw new DataFormatException($"{name}: the file is empty (expected a NumPy .npy file).");
        if (got < 10) throw DataFormatException.AtOffset(name, got, "truncated preamble.");
        if (!pre.AsSpan(0, 6).SequenceEqual(Magic)) throw DataFormatException.AtOffset(name, 0, "wrong magic (a .npy file starts with \\x93NUMPY).");
        byte major = pre[6], minor = pre[7];
        if (major is < 1 or > 3 || minor != 0) throw DataFormatException.AtOffset(name, 6, $"format version {major}.{minor} is not supported (1.0, 2.0 or 3.0).");
        long headerLength;
        long dataOffset;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(pre.AsSpan(8));
            dataOffset = 10 + headerLength;
        }
        else
        {
            var extra = new byte[2];
            if (stream.ReadAtLeast(extra, 2, throwOnEndOfStream: false) < 2) throw DataFormatException.AtOffset(name, 10, "truncated preamble.");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian([pre[8], pre[9], extra[0], extra[1]]);
            dataOffset = 12 + headerLength;
        }
        if (headerLength > MaxHeaderLength) throw DataFormatException.AtOffset(name, 8, $"header length {headerLength} exceeds {MaxHeaderLength}.");
        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) < headerLength)
            throw DataFormatException.AtOffset(name, dataOffset - headerLength, "truncated header.");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        var (descr, fortran, shape) = ParseHeader(header, name, dataOffset - headerLength);

        var (type, bigEndian) = ParseDescr(descr, name, dataOffset - headerLength);
        return (descr, fortran, shape, dataOffset, type, bigEndian);
    }

    /// <summary>
    /// A 1-D array of <paramref name="rows"/> class labels (any integer dtype, or floats holding whole numbers) — the
    /// labels beside a memory-mapped feature .npy.
    /// </summary>
    /// <exception cref="DataFormatException">Another shape, or a value that is not a class number ≥ 0.</exception>
    public static int[] ReadLabels(string path, long rows)
    {
        var array = Read(path);
        if (array.Shape.Length != 1 || array.Shape[0] != rows)
            throw new DataFormatException($"{path}: shape ({string.Join(", ", array.Shape)}); expected ({rows},), one label per training row.");
        var labels = new int[rows];
        for (int i = 0; i < labels.Length; i++)
        {
            double v = Convert.ToDouble(array.Data.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            if (!(v >= 0) || v != Math.Floor(v) || v > 1_000_000) throw new DataFormatException($"{path}: label {v} at index {i} is not a class number ≥ 0.");
            labels[i] = (int)v;
        }
        return labels;
    }

    /// <summary>Writes <paramref name="array"/> as a version 1.0 .npy file (little-endian, C order), atomically.</summary>
    public static void Write(string path, NpyArray array) => AtomicFile.Write(path, s => Write(s, array));

    /// <summary>Writes a float32 matrix as a 2-D .npy file, atomically.</summary>
    public static void Write(string path, MatrixView matrix) => Write(path, NpyArray.FromMatrix(matrix));

    /// <summary>Writes one array in the .npy format to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, NpyArray array)
    {
        string shape = array.Shape.Length switch
        {
            0 => "()",
            1 => $"({array.Shape[0]},)",
            _ => "(" + string.Join(", ", array.Shape) + ")",
        };
        string dict = $"{{'descr': '{array.Descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int hlen = dict.Length + 1;
        int pad = 64 - ((8 + 2 + hlen) % 64);
        string header = dict + new string(' ', pad) + "\n";
        if (header.Length > ushort.MaxValue) throw new ArgumentException("Header too long for format 1.0.", nameof(array));
        stream.Write(Magic);
        stream.WriteByte(1);
        stream.WriteByte(0);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Writing .npy requires a little-endian machine.");
        if (array.Data is bool[] flags)
        {
            foreach (bool f in flags) stream.WriteByte(f ? (byte)1 : (byte)0);
            return;
        }
        int size = Buffer.ByteLength(array.Data);
        var bytes = new byte[Math.Min(size, 1 << 20)];
        for (int offset = 0; offset < size; offset += bytes.Length)
        {
            int n = Math.Min(bytes.Length, size - offset);
            Buffer.BlockCopy(array.Data, offset, bytes, 0, n);
            stream.Write(bytes, 0, n);
        }
    }

    /// <summary>Reads every array of a .npz archive (keys without the ".npy" suffix).</summary>
    public static IReadOnlyDictionary<string, NpyArray> ReadArchive(string path)
    {
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException e) { throw new DataFormatException($"{path}: not a valid .npz (zip) archive: {e.Message}"); }
        using (zip)
        {
            var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
            // The central directory is read on first access: a corrupt one surfaces here, not at OpenRead.
            IReadOnlyList<ZipArchiveEntry> entries;
            try { entries = zip.Entries; }
            catch (InvalidDataException e) { throw new DataFormatException($"{path}: not a valid .npz (zip) archive: {e.Message}"); }
            foreach (var entry in entries)
            {
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal)) continue;
                string key = entry.FullName[..^4];
                try
                {
                    using var s = entry.Open();
                    result[key] = Read(s, $"{path}[{key}]");
                }
                catch (InvalidDataException e)
                {
                    throw new DataFormatException($"{path}[{key}]: corrupt archive member: {e.Message}");
                }
            }
            if (result.Count == 0) throw new DataFormatException($"{path}: the archive holds no .npy members.");
            return result;
        }
    }

    /// <summary>Writes a .npz archive (stored like np.savez, or deflated like np.savez_compressed), atomically.</summary>
    public static void WriteArchive(string path, IReadOnlyDictionary<string, NpyArray> arrays, bool compressed = false)
    {
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (key, array) in arrays)
            {
                var entry = zip.CreateEntry(key + ".npy", compressed ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                using var s = entry.Open();
                Write(s, array);
            }
        });
    }

    internal static string DescrOf(Type t) =>
        t == typeof(float) ? "<f4" : t == typeof(double) ? "<f8" : t == typeof(sbyte) ? "|i1" : t == typeof(short) ? "<i2" :
        t == typeof(int) ? "<i4" : t == typeof(long) ? "<i8" : t == typeof(byte) ? "|u1" : t == typeof(ushort) ? "<u2" :
        t == typeof(uint) ? "<u4" : t == typeof(ulong) ? "<u8" : t == typeof(bool) ? "|b1" :
        throw new ArgumentException($"Element type {t.Name} has no .npy dtype here.");

    private static (Type Type, bool BigEndian) ParseDescr(string descr, string name, long offset)
    {
        if (descr.Length < 3) throw DataFormatException.AtOffset(name, offset, $"dtype '{descr}' is not supported (float32/64, signed/unsigned integers, bool; no objects, strings or structures).");
        char order = descr[0];
        if (order is not ('<' or '>' or '|' or '=')) throw DataFormatException.AtOffset(name, offset, $"dtype '{descr}' has no byte order.");
        string kind = descr[1..];
        Type? t = kind switch
        {
            "f4" => typeof(float), "f8" => typeof(double),
            "i1" => typeof(sbyte), "i2" => typeof(short), "i4" => typeof(int), "i8" => typeof(long),
            "u1" => typeof(byte), "u2" => typeof(ushort), "u4" => typeof(uint), "u8" => typeof(ulong),
            "b1" => typeof(bool),
            _ => null,
        };
        if (t is null)
            throw DataFormatException.AtOffset(name, offset, $"dtype '{descr}' is not supported (float32/64, signed/unsigned integers, bool; no objects, strings or structures).");
        return (t, order == '>');
    }

    /// <summary>Strict parser of the header dict: exactly the keys descr, fortran_order and shape.</summary>
    private static (string Descr, bool Fortran, int[] Shape) ParseHeader(string text, string name, long offset)
    {
        var p = new HeaderParser(text.TrimEnd(' ', '\n', '\r', '\0'), name, offset);
        string? descr = null;
        bool? fortran = null;
        int[]? shape = null;
        p.Expect('{');
        while (!p.TryConsume('}'))
        {
            string key = p.ReadString();
            p.Expect(':');
            switch (key)
            {
                case "descr" when descr is null:
                    if (p.Peek() == '[') throw DataFormatException.AtOffset(name, offset, "structured dtypes are not supported.");
                    descr = p.ReadString();
                    break;
                case "fortran_order" when fortran is null: fortran = p.ReadBool(); break;
                case "shape" when shape is null: shape = p.ReadShape(); break;
                default: throw DataFormatException.AtOffset(name, offset, $"unexpected or repeated header key '{key}'.");
            }
            if (!p.TryConsume(',')) { p.Expect('}'); break; }
        }
        p.ExpectEnd();
        if (descr is null || fortran is null || shape is null)
            throw DataFormatException.AtOffset(name, offset, "the header must hold 'descr', 'fortran_order' and 'shape'.");
        return (descr, fortran.Value, shape);
    }

    private static Array ToCOrder(Array data, int[] shape)
    {
        // Fortran order = C order of the reversed shape; transpose by mapping each C index to its F position.
        var result = Array.CreateInstance(data.GetType().GetElementType()!, data.Length);
        int rank = shape.Length;
        var index = new int[rank];
        for (int c = 0; c < data.Length; c++)
        {
            long f = 0, stride = 1;
            for (int a = 0; a < rank; a++) { f += index[a] * stride; stride *= shape[a]; }
            result.SetValue(data.GetValue(f), c);
            for (int a = rank - 1; a >= 0; a--)
            {
                if (++index[a] < shape[a]) break;
                index[a] = 0;
            }
        }
        return result;
    }

    private ref struct HeaderParser(string text, string name, long offset)
    {
        private int _pos;

        public char Peek() { SkipSpace(); return _pos < text.Length ? text[_pos] : '\0'; }

        public void Expect(char c)
        {
            if (Peek() != c) throw Error($"expected '{c}'");
            _pos++;
        }

        public bool TryConsume(char c)
        {
            if (Peek() != c) return false;
            _pos++;
            return true;
        }

        public void ExpectEnd()
        {
            if (Peek() != '\0') throw Error("unexpected text after the header dict");
        }

        public string ReadString()
        {
            char q = Peek();
            if (q is not ('\'' or '"')) throw Error("expected a quoted string");
            int end = text.IndexOf(q, _pos + 1);
            if (end < 0) throw Error("unterminated string");
            string s = text[(_pos + 1)..end];
            _pos = end + 1;
            return s;
        }

        public bool ReadBool()
        {
            Peek();
            if (string.CompareOrdinal(text, _pos, "True", 0, 4) == 0) { _pos += 4; return true; }
            if (string.CompareOrdinal(text, _pos, "False", 0, 5) == 0) { _pos += 5; return false; }
            throw Error("expected True or False");
        }

        public int[] ReadShape()
        {
            Expect('(');
            var dims = new List<int>();
            while (!TryConsume(')'))
            {
                Peek();
                int start = _pos;
                while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
                if (_pos == start || !int.TryParse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                    throw Error("expected a non-negative integer size");
                dims.Add(d);
                if (!TryConsume(',')) { Expect(')'); break; }
            }
            return dims.ToArray();
        }

        private void SkipSpace() { while (_pos < text.Length && text[_pos] == ' ') _pos++; }

        private DataFormatException Error(string what) =>
            DataFormatException.AtOffset(name, offset + _pos, $"malformed header ({what}) in {text.Trim()}");
    }
}
