using EigenProNet.Data;
using EigenProNet.Models;

namespace EigenProNet.Fuzz;

/// <summary>
/// One fuzz target per reader: the file extension its input is written under and the read. A target accepts exactly
/// the documented outcomes — the value is read, or the reader throws <see cref="DataFormatException"/> naming the file.
/// </summary>
public static class ReaderTargets
{
    /// <summary>Target name → what it does with one input file's bytes.</summary>
    public static readonly IReadOnlyDictionary<string, (string Extension, Action<string> Read)> All =
        new Dictionary<string, (string, Action<string>)>
        {
            ["npy"] = (".npy", path => { using var s = File.OpenRead(path); Npy.Read(s, path); }),
            ["npz"] = (".npz", path => Npy.ReadArchive(path)),
            ["cifar"] = (".bin", path => CifarBinary.Load([path])),
            ["idx-images"] = ("-images-idx3-ubyte", path => IdxFile.ReadImages(path)),
            ["idx-labels"] = ("-labels-idx1-ubyte", path => IdxFile.ReadLabels(path, 10)),
            ["csv"] = (".csv", path => CsvTable.Load(path)),
            ["epn"] = (".epn", path => ModelFile.Load(path)),
        };

}
