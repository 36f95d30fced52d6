using System.Security.Cryptography;
using EigenProNet.Data;
using EigenProNet.Models;

namespace EigenProNet.Fuzz;

/// <summary>
/// One fuzz target: where its input goes (a file with <paramref name="Extension"/>, or a folder unpacked from a
/// <see cref="FileBundle"/>), what reads it, and which exceptions are the reader's documented rejections.
/// </summary>
/// <param name="Extension">The input file's name ending (file targets).</param>
/// <param name="Read">Reads the placed input: a file's path, or the folder a bundle was unpacked into.</param>
/// <param name="IsBundle">Whether the input is a <see cref="FileBundle"/> of several files.</param>
/// <param name="Documented">The documented rejections (default: <see cref="DataFormatException"/> only).</param>
/// <param name="Encode">What the input becomes before it is written (e.g. a checksum appended), when not written as is.</param>
public sealed record FuzzTarget(string Extension, Action<string> Read, bool IsBundle = false, Func<Exception, bool>? Documented = null,
    Func<byte[], byte[]>? Encode = null)
{
    /// <summary>Whether <paramref name="e"/> is one of the reader's documented rejections (anything else is a finding).</summary>
    public bool IsDocumented(Exception e) => Documented?.Invoke(e) ?? e is DataFormatException;

    /// <summary>Writes <paramref name="input"/> where <see cref="Read"/> expects it below <paramref name="scratch"/> (emptied first); returns that path.</summary>
    public string Place(ReadOnlySpan<byte> input, string scratch)
    {
        if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        Directory.CreateDirectory(scratch);
        if (IsBundle)
        {
            string folder = Path.Combine(scratch, "input");
            FileBundle.Unpack(input, folder);
            return folder;
        }
        string path = Path.Combine(scratch, "input" + Extension);
        File.WriteAllBytes(path, Encode is null ? input.ToArray() : Encode(input.ToArray()));
        return path;
    }
}

/// <summary>
/// One fuzz target per reader. A target accepts exactly the documented outcomes — the value is read, or the reader
/// throws its own typed error naming the file.
/// </summary>
public static class ReaderTargets
{
    /// <summary>Target name → target.</summary>
    public static readonly IReadOnlyDictionary<string, FuzzTarget> All = new Dictionary<string, FuzzTarget>
    {
        ["npy"] = new(".npy", path => { using var s = File.OpenRead(path); Npy.Read(s, path); }),
        ["npz"] = new(".npz", path => Npy.ReadArchive(path)),
        ["cifar"] = new(".bin", path => CifarBinary.Load([path])),
        ["idx-images"] = new("-images-idx3-ubyte", path => IdxFile.ReadImages(path)),
        ["idx-labels"] = new("-labels-idx1-ubyte", path => IdxFile.ReadLabels(path, 10)),
        ["csv"] = new(".csv", path => CsvTable.Load(path)),
        ["epn"] = new(".epn", path => ModelFile.Load(path)),
        // The body of a model file, sealed with its SHA-256 before it is read: mutations reach the header and array
        // parsers instead of stopping at the checksum (what the epn target mostly meets).
        ["epn-sealed"] = new(".epn", path => ModelFile.Load(path), Encode: body => [.. body, .. SHA256.HashData(body)]),
        // A bundle of one dataset folder (its name is the bundle's first folder): metadata, data files, index files.
        ["uci"] = new("", folder => UciDataset.Load(Directory.GetDirectories(folder).Order(StringComparer.Ordinal).FirstOrDefault() ?? folder), IsBundle: true),
        // A bundle of a network study's run directory, resumed for one more epoch (ResumeTarget).
        ["dynamics-resume"] = new("", ResumeTarget.Resume, IsBundle: true, ResumeTarget.IsDocumented),
    };
}
