using System.Globalization;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>
/// One dataset of the UCI collection of Fernández-Delgado et al. (JMLR 2014) in that collection's layout:
/// <c>&lt;name&gt;.txt</c> metadata (<c>key= value</c>), tab-separated <c>*_R.dat</c> files (header, then row index,
/// standardised features, integer class), <c>conxuntos.dat</c> (training / validation indices) and
/// <c>conxuntos_kfold.dat</c> (4 × training / test indices).
/// </summary>
public sealed class UciDataset
{
    private UciDataset(string name, Dataset data, Dataset? test, (int[] Train, int[] Validation) split, IReadOnlyList<(int[] Train, int[] Test)> folds)
    {
        Name = name;
        Data = data;
        Test = test;
        ValidationSplit = split;
        Folds = folds;
    }

    /// <summary>Dataset name (the folder name).</summary>
    public string Name { get; }

    /// <summary>The rows of the first data file (<c>fich1</c>); all indices refer to these rows.</summary>
    public Dataset Data { get; }

    /// <summary>The separate test file (<c>fich2</c>) when the dataset has one.</summary>
    public Dataset? Test { get; }

    /// <summary>The model-selection split of <c>conxuntos.dat</c>.</summary>
    public (int[] Train, int[] Validation) ValidationSplit { get; }

    /// <summary>The 4 cross-validation folds of <c>conxuntos_kfold.dat</c>.</summary>
    public IReadOnlyList<(int[] Train, int[] Test)> Folds { get; }

    /// <summary>True when <paramref name="folder"/> looks like one dataset of the collection.</summary>
    public static bool IsDatasetFolder(string folder) =>
        Directory.Exists(folder) && File.Exists(Path.Combine(folder, Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)) + ".txt"));

    /// <summary>The dataset folders below <paramref name="collection"/>, sorted by name.</summary>
    public static IReadOnlyList<string> List(string collection) =>
        Directory.GetDirectories(collection).Where(IsDatasetFolder).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Loads the dataset in <paramref name="folder"/>.</summary>
    /// <exception cref="DataFormatException">Missing or malformed files, row counts or classes that disagree with the metadata.</exception>
    public static UciDataset Load(string folder)
    {
        folder = Path.TrimEndingDirectorySeparator(folder);
        string name = Path.GetFileName(folder);
        string metaPath = Path.Combine(folder, name + ".txt");
        if (!File.Exists(metaPath)) throw new DataFormatException($"{folder}: no {name}.txt metadata (expected a UCI collection dataset folder).");
        var meta = ReadMetadata(metaPath);
        int features = MetaInt(meta, "n_entradas", metaPath);
        int classes = MetaInt(meta, "n_clases", metaPath);
        string file1 = Path.Combine(folder, Meta(meta, "fich1", metaPath));
        var data = ReadDataFile(file1, features, classes, meta.ContainsKey("n_patrons1") ? MetaInt(meta, "n_patrons1", metaPath) : null);
        Dataset? test = null;
        if (meta.TryGetValue("fich2", out var f2))
            test = ReadDataFile(Path.Combine(folder, f2), features, classes, meta.ContainsKey("n_patrons2") ? MetaInt(meta, "n_patrons2", metaPath) : null);

        var sets = ReadIndexLines(Path.Combine(folder, "conxuntos.dat"), 2, data.Count);
        var foldLines = ReadIndexLines(Path.Combine(folder, "conxuntos_kfold.dat"), 8, data.Count);
        var folds = Enumerable.Range(0, 4).Select(k => (foldLines[2 * k], foldLines[2 * k + 1])).ToArray();
        return new UciDataset(name, data, test, (sets[0], sets[1]), folds);
    }

    private static Dictionary<string, string> ReadMetadata(string path)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            int eq = line.IndexOf('=');
            if (eq > 0) meta[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return meta;
    }

    private static string Meta(Dictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new DataFormatException($"{path}: metadata key '{key}=' is missing.");

    private static int MetaInt(Dictionary<string, string> meta, string key, string path) =>
        int.TryParse(Meta(meta, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
            ? v : throw new DataFormatException($"{path}: '{key}= {meta[key]}' is not a non-negative integer.");

    private static Dataset ReadDataFile(string path, int features, int classes, int? expectedRows)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: the data file named in the metadata does not exist.");
        var rows = new List<float[]>();
        var labels = new List<int>();
        long lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (lineNumber == 1 || string.IsNullOrWhiteSpace(line)) continue; // header
            var fields = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != features + 2)
                throw DataFormatException.AtLine(path, lineNumber, $"{fields.Length} fields, expected {features + 2} (index, {features} features, class).");
            var row = new float[features];
            for (int j = 0; j < features; j++)
            {
                if (!float.TryParse(fields[j + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out row[j]) || !float.IsFinite(row[j]))
                    throw DataFormatException.AtLine(path, lineNumber, $"feature {j + 1}: '{fields[j + 1]}' is not a finite number.");
            }
            if (!int.TryParse(fields[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int label) || label < 0 || label >= classes)
                throw DataFormatException.AtLine(path, lineNumber, $"class '{fields[^1]}' is not an integer in 0–{classes - 1}.");
            rows.Add(row);
            labels.Add(label);
        }
        if (rows.Count == 0) throw new DataFormatException($"{path}: no data rows.");
        if (expectedRows is int n && n != rows.Count)
            throw new DataFormatException($"{path}: {rows.Count} rows, but the metadata promises {n}.");
        var x = new Matrix(rows.Count, features);
        for (int i = 0; i < rows.Count; i++) rows[i].CopyTo(x.Row(i));
        return new Dataset(x, labels.ToArray(), classes, path);
    }

    private static int[][] ReadIndexLines(string path, int count, int rows)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: missing (expected {count} lines of row indices).");
        var lines = File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
        if (lines.Length != count) throw new DataFormatException($"{path}: {lines.Length} index lines, expected {count}.");
        var result = new int[count][];
        for (int k = 0; k < count; k++)
        {
            var fields = lines[k].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            result[k] = new int[fields.Length];
            for (int i = 0; i < fields.Length; i++)
                if (!int.TryParse(fields[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out result[k][i]) || result[k][i] < 0 || result[k][i] >= rows)
                    throw DataFormatException.AtLine(path, k + 1, $"index '{fields[i]}' is not a row number in 0–{rows - 1}.");
        }
        return result;
    }
}
