using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>The file formats <see cref="DatasetLoader"/> recognises.</summary>
public enum DatasetFormat
{
    /// <summary>CIFAR-10 binary batches (a folder or one .bin file).</summary>
    CifarBinary,
    /// <summary>MNIST / Fashion-MNIST IDX files (a folder, or an images file with its labels beside it).</summary>
    Idx,
    /// <summary>Delimited text.</summary>
    Csv,
    /// <summary>A NumPy .npy table (features and a label column).</summary>
    Npy,
    /// <summary>A NumPy .npz archive with arrays X/y (and optionally X_test/y_test).</summary>
    Npz,
    /// <summary>One dataset folder of the UCI collection.</summary>
    Uci,
}

/// <summary>Options for tabular formats (CSV and .npy tables).</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>CSV reading options (delimiter, header, label column, regression).</summary>
    public CsvOptions Csv { get; init; } = new();
}

/// <summary>Recognises a dataset's format from its path and loads it with its own test split when it has one.</summary>
public static class DatasetLoader
{
    /// <summary>Short names accepted in place of a path.</summary>
    public static IReadOnlyDictionary<string, string> KnownLocations { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["fashion-mnist"] = IdxFile.DebianFashionMnist,
    };

    /// <summary>Resolves a short name (e.g. "fashion-mnist") to its install path; other paths are returned unchanged.</summary>
    public static string Resolve(string path) =>
        !File.Exists(path) && !Directory.Exists(path) && KnownLocations.TryGetValue(path, out var known) ? known : path;

    /// <summary>Recognises the format of <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path.</exception>
    /// <exception cref="DataFormatException">The path exists but matches no known format.</exception>
    public static DatasetFormat Detect(string path)
    {
        path = Resolve(path);
        if (Directory.Exists(path))
        {
            if (CifarBinary.IsBatchFolder(path)) return DatasetFormat.CifarBinary;
            if (IdxFile.IsMnistFolder(path)) return DatasetFormat.Idx;
            if (UciDataset.IsDatasetFolder(path)) return DatasetFormat.Uci;
            throw new DataFormatException($"{path}: the folder holds no known dataset (expected CIFAR-10 data_batch_*.bin, MNIST-style *-idx3-ubyte[.gz] files, or a UCI collection dataset).");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder.", path);
        string name = Path.GetFileName(path).ToLowerInvariant();
        if (name.EndsWith(".npy", StringComparison.Ordinal)) return DatasetFormat.Npy;
        if (name.EndsWith(".npz", StringComparison.Ordinal)) return DatasetFormat.Npz;
        if (name.EndsWith(".bin", StringComparison.Ordinal)) return DatasetFormat.CifarBinary;
        if (name.Contains("idx3-ubyte", StringComparison.Ordinal)) return DatasetFormat.Idx;
        if (name.EndsWith(".csv", StringComparison.Ordinal) || name.EndsWith(".tsv", StringComparison.Ordinal) ||
            name.EndsWith(".txt", StringComparison.Ordinal) || name.EndsWith(".dat", StringComparison.Ordinal))
            return DatasetFormat.Csv;
        throw new DataFormatException($"{path}: unknown file type (expected .csv/.tsv/.txt, .npy, .npz, a CIFAR-10 .bin batch or an IDX images file).");
    }

    /// <summary>
    /// Loads <paramref name="path"/>: a dataset's own test split comes with it (CIFAR-10 test_batch.bin, IDX t10k-*,
    /// npz X_test/y_test, the UCI test file); <paramref name="testPath"/>, when given, replaces it.
    /// </summary>
    public static DataSplit Load(string path, string? testPath = null, DatasetLoadOptions? options = null)
    {
        options ??= new DatasetLoadOptions();
        path = Resolve(path);
        var split = Detect(path) switch
        {
            DatasetFormat.CifarBinary when Directory.Exists(path) => CifarBinary.LoadFolder(path),
            DatasetFormat.CifarBinary => new DataSplit(CifarBinary.Load([path], path), null),
            DatasetFormat.Idx when Directory.Exists(path) => IdxFile.LoadMnistFolder(path, FashionNames(path)),
            DatasetFormat.Idx => new DataSplit(LoadIdxFile(path), null),
            DatasetFormat.Csv => new DataSplit(CsvTable.Load(path, options.Csv), null),
            DatasetFormat.Npy => new DataSplit(LoadNpyTable(path, options.Csv), null),
            DatasetFormat.Npz => LoadNpz(path, options.Csv.Regression),
            DatasetFormat.Uci => LoadUci(path),
            _ => throw new InvalidOperationException("unreachable"),
        };
        if (split.Train.Count == 0) throw new DataFormatException($"{path}: the dataset has no rows.");
        if (testPath is null) return split;
        var test = LoadTest(Resolve(testPath), split.Train, options);
        return split with { Test = test };
    }

    private static Dataset LoadTest(string path, Dataset train, DatasetLoadOptions options)
    {
        var format = Detect(path);
        Dataset test;
        if (format == DatasetFormat.Csv) test = CsvTable.Load(path, options.Csv, train.ClassNames);
        else
        {
            var loaded = Load(path, null, options);
            // A folder with its own split given as --test: its test part is what the user means.
            test = loaded.Test ?? loaded.Train;
        }
        if (test.Dimension != train.Dimension)
            throw new DataFormatException($"{path}: {test.Dimension} features, but the training data has {train.Dimension}.");
        if (test.IsClassification != train.IsClassification || test.OutputCount > train.OutputCount)
            throw new DataFormatException($"{path}: its targets ({test.OutputCount} {(test.IsClassification ? "classes" : "columns")}) do not match the training data's.");
        return test;
    }

    private static IReadOnlyList<string>? FashionNames(string folder) =>
        Path.GetFullPath(folder).TrimEnd('/').Equals(IdxFile.DebianFashionMnist, StringComparison.Ordinal) ||
        folder.Contains("fashion", StringComparison.OrdinalIgnoreCase) ? IdxFile.FashionMnistClassNames : null;

    private static Dataset LoadIdxFile(string imagesPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(imagesPath))!;
        string labelsName = Path.GetFileName(imagesPath).Replace("images", "labels", StringComparison.Ordinal).Replace("idx3", "idx1", StringComparison.Ordinal);
        string labelsPath = Path.Combine(dir, labelsName);
        if (!File.Exists(labelsPath)) throw new DataFormatException($"{imagesPath}: the labels file {labelsName} is not beside it.");
        var x = IdxFile.ReadImages(imagesPath);
        var y = IdxFile.ReadLabels(labelsPath, 10);
        if (x.Rows != y.Length) throw new DataFormatException($"{labelsPath}: {y.Length} labels for the {x.Rows} images of {imagesPath}.");
        return new Dataset(x, y, 10, imagesPath);
    }

    private static Dataset LoadNpyTable(string path, CsvOptions csv)
    {
        var array = Npy.Read(path);
        if (array.Shape.Length != 2 || array.Shape[1] < 2)
            throw new DataFormatException($"{path}: expected a 2-D table of features and a label column, found shape ({string.Join(", ", array.Shape)}).");
        var table = array.ToMatrix(path);
        int cols = table.Columns;
        int label = cols - 1;
        if (csv.LabelColumn is not null)
        {
            bool isIndex = int.TryParse(csv.LabelColumn, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int index);
            label = index < 0 ? cols + index : index;
            if (!isIndex || label < 0 || label >= cols)
                throw new ArgumentException($"{path}: label column '{csv.LabelColumn}' must be an index into the {cols} columns of a .npy table.");
        }
        var x = new Matrix(table.Rows, cols - 1);
        var y = new float[table.Rows];
        for (int i = 0; i < table.Rows; i++)
        {
            var src = table.Row(i);
            var dst = x.Row(i);
            for (int j = 0, c = 0; j < cols; j++)
                if (j == label) y[i] = src[j]; else dst[c++] = src[j];
        }
        return csv.Regression ? new Dataset(x, new Matrix(y.Length, 1, y), path) : ClassificationFrom(x, y, path);
    }

    private static DataSplit LoadNpz(string path, bool regression)
    {
        var arrays = Npy.ReadArchive(path);
        NpyArray Find(bool required, params string[] keys)
        {
            foreach (var k in keys)
                if (arrays.TryGetValue(k, out var a)) return a;
            if (required) throw new DataFormatException($"{path}: none of the arrays {string.Join(", ", keys)} is present (found {string.Join(", ", arrays.Keys)}).");
            return null!;
        }
        var x = Find(true, "X", "x", "X_train", "x_train", "features", "data");
        var y = Find(true, "y", "Y", "y_train", "Y_train", "labels", "targets");
        var xt = Find(false, "X_test", "x_test");
        var yt = Find(false, "y_test", "Y_test");
        var train = NpzDataset(x, y, path, regression, null);
        Dataset? test = xt is not null && yt is not null ? NpzDataset(xt, yt, path + " (test arrays)", regression, train) : null;
        return new DataSplit(train, test);
    }

    private static Dataset NpzDataset(NpyArray x, NpyArray y, string source, bool regression, Dataset? train)
    {
        var features = x.ToMatrix(source + " X");
        if (x.Shape.Length != 2) throw new DataFormatException($"{source}: X must be 2-D, found shape ({string.Join(", ", x.Shape)}).");
        if (y.Shape.Length is not (1 or 2)) throw new DataFormatException($"{source}: y must be 1-D or 2-D, found shape ({string.Join(", ", y.Shape)}).");
        if (y.Shape[0] != features.Rows) throw new DataFormatException($"{source}: X has {features.Rows} rows but y has {y.Shape[0]}.");
        if (regression || y.Shape.Length == 2 && y.Shape[1] > 1 || y.Data is float[] or double[] && train is { IsClassification: false })
            return new Dataset(features, y.ToMatrix(source + " y"), source);
        var labels = y.ToInt32(source + " y");
        int classes = train?.ClassCount ?? labels.Max() + 1;
        if (labels.Min() < 0) throw new DataFormatException($"{source}: label {labels.Min()} is negative (expected class indices 0…k−1).");
        if (labels.Max() >= classes) throw new DataFormatException($"{source}: label {labels.Max()} is outside the {classes} training classes.");
        return new Dataset(features, labels, classes, source);
    }

    private static Dataset ClassificationFrom(Matrix x, float[] y, string source)
    {
        var labels = new int[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] != MathF.Round(y[i]) || y[i] < 0)
                throw new DataFormatException($"{source}: row {i} has label {y[i]}, not a class index 0…k−1 (use regression for real targets).");
            labels[i] = (int)y[i];
        }
        return new Dataset(x, labels, labels.Max() + 1, source);
    }

    private static DataSplit LoadUci(string folder)
    {
        var uci = UciDataset.Load(folder);
        return new DataSplit(uci.Data, uci.Test);
    }
}
