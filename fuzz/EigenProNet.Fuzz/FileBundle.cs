using System.Text;

namespace EigenProNet.Fuzz;

/// <summary>
/// Several files in one fuzz input, for readers that take a folder (a UCI dataset, a dynamics run directory): each
/// file is a line <c>@file relative/path</c> and then its bytes, up to the next such line. AFL mutates the bytes and
/// the names alike; an entry whose name is not a plain relative path is dropped (the harness decides where files go,
/// not the input), and so a name may be lost, leaving a file missing — which is one of the things to try.
/// </summary>
public static class FileBundle
{
    private static readonly byte[] Marker = Encoding.ASCII.GetBytes("\n@file ");
    private const int MaxEntries = 64, MaxPathLength = 120, MaxDepth = 4;

    /// <summary>Every file below <paramref name="directory"/>, in ordinal order of their relative paths.</summary>
    public static byte[] Pack(string directory)
    {
        using var output = new MemoryStream();
        bool first = true;
        foreach (var file in Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
                     .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal))
        {
            output.Write(first ? Marker.AsSpan(1) : Marker);   // the newline before a marker ends the file before it
            first = false;
            output.Write(Encoding.ASCII.GetBytes(file + "\n"));
            output.Write(File.ReadAllBytes(Path.Combine(directory, file)));
        }
        return output.ToArray();
    }

    /// <summary>Writes the files of <paramref name="bundle"/> below <paramref name="directory"/> (which must be empty or new).</summary>
    public static void Unpack(ReadOnlySpan<byte> bundle, string directory)
    {
        Directory.CreateDirectory(directory);
        // A bundle starts with its first marker; the leading newline is the marker's, so the input needs none.
        bool bare = bundle.StartsWith(Marker.AsSpan(1));
        int at = bare ? 0 : Find(bundle, 0);
        int skip = bare ? Marker.Length - 1 : Marker.Length;
        for (int entries = 0; at >= 0 && entries < MaxEntries; entries++)
        {
            int nameStart = at + skip;
            int lineEnd = bundle[nameStart..].IndexOf((byte)'\n');
            if (lineEnd < 0) return;
            string name = Encoding.ASCII.GetString(bundle.Slice(nameStart, lineEnd));
            int contentStart = nameStart + lineEnd + 1, next = Find(bundle, contentStart);
            var content = bundle[contentStart..(next < 0 ? bundle.Length : next)];
            if (IsPlainRelativePath(name))
            {
                string path = Path.Combine(directory, name.Replace('/', Path.DirectorySeparatorChar));
                // Names that clash (a file "a" and a file "a/b", one name twice) keep the first: the layout is the
                // harness's to build, not a reader's finding.
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    if (!File.Exists(path) && !Directory.Exists(path)) File.WriteAllBytes(path, content.ToArray());
                }
                catch (IOException) { }
            }
            at = next;
            skip = Marker.Length;
        }
    }

    private static int Find(ReadOnlySpan<byte> bundle, int from)
    {
        int i = bundle[from..].IndexOf(Marker);
        return i < 0 ? -1 : from + i;
    }

    /// <summary>Segments of letters, digits, '.', '_' and '-' (never "." or ".."), at most <see cref="MaxDepth"/> deep.</summary>
    private static bool IsPlainRelativePath(string name)
    {
        if (name.Length == 0 || name.Length > MaxPathLength) return false;
        var segments = name.Split('/');
        return segments.Length <= MaxDepth && segments.All(s => s.Length > 0 && s != "." && s != ".."
            && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'));
    }
}
