using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>
/// Rows of features with either class labels (classification) or real-valued targets (regression).
/// Features are float32, one row per example, in the units the file stored (pixels stay 0–255 until a
/// <see cref="Preprocessor"/> scales them).
/// </summary>
public sealed class Dataset
{
    /// <summary>A classification dataset: <paramref name="labels"/>[i] ∈ [0, <paramref name="classCount"/>).</summary>
    /// <exception cref="ArgumentException">Row counts differ, a label is out of range, or a feature is NaN/Inf.</exception>
    public Dataset(Matrix features, int[] labels, int classCount, string source, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length != features.Rows)
            throw new ArgumentException($"{source}: {features.Rows} feature rows but {labels.Length} labels.", nameof(labels));
        if (classCount < 1) throw new ArgumentException($"{source}: expected at least one class, found {classCount}.", nameof(classCount));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"{source}: label {labels[i]} of row {i} is outside [0, {classCount}).", nameof(labels));
        if (classNames is not null && classNames.Count != classCount)
            throw new ArgumentException($"{source}: {classNames.Count} class names for {classCount} classes.", nameof(classNames));
        Features = features;
        Labels = labels;
        ClassCount = classCount;
        ClassNames = classNames;
        Source = source;
    }

    /// <summary>A regression dataset with one target row per feature row.</summary>
    public Dataset(Matrix features, Matrix targets, string source)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Rows != features.Rows)
            throw new ArgumentException($"{source}: {features.Rows} feature rows but {targets.Rows} target rows.", nameof(targets));
        Guard.AllFinite(targets, $"{source} targets");
        Features = features;
        Targets = targets;
        Source = source;
    }

    /// <summary>n × d features.</summary>
    public Matrix Features { get; }

    /// <summary>Class index per row, or null for regression.</summary>
    public int[]? Labels { get; }

    /// <summary>Regression targets (n × c), or null for classification.</summary>
    public Matrix? Targets { get; }

    /// <summary>Number of classes (0 for regression).</summary>
    public int ClassCount { get; }

    /// <summary>Class names when the format stores them.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Where the rows came from (file or folder), used in messages.</summary>
    public string Source { get; }

    /// <summary>Number of rows.</summary>
    public int Count => Features.Rows;

    /// <summary>Number of features.</summary>
    public int Dimension => Features.Columns;

    /// <summary>True when the dataset has class labels.</summary>
    public bool IsClassification => Labels is not null;

    /// <summary>Number of model outputs: classes (one-hot) or target columns.</summary>
    public int OutputCount => Labels is not null ? ClassCount : Targets!.Columns;

    /// <summary>The training targets: one-hot rows for classification, the targets otherwise.</summary>
    public Matrix TargetMatrix() => Labels is not null ? Preprocessing.OneHot(Labels, ClassCount) : Targets!;

    /// <summary>The rows <paramref name="rows"/> (in that order) as a new dataset.</summary>
    public Dataset Subset(IReadOnlyList<int> rows, string? source = null)
    {
        var x = new Matrix(rows.Count, Dimension);
        for (int i = 0; i < rows.Count; i++)
        {
            if ((uint)rows[i] >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"Row index outside [0, {Count}).");
            Features.Row(rows[i]).CopyTo(x.Row(i));
        }
        source ??= Source;
        if (Labels is not null)
            return new Dataset(x, rows.Select(r => Labels[r]).ToArray(), ClassCount, source, ClassNames);
        var y = new Matrix(rows.Count, Targets!.Columns);
        for (int i = 0; i < rows.Count; i++) Targets.Row(rows[i]).CopyTo(y.Row(i));
        return new Dataset(x, y, source);
    }

    /// <summary>The same targets with other features (after preprocessing).</summary>
    public Dataset WithFeatures(Matrix features) => Labels is not null
        ? new Dataset(features, Labels, ClassCount, Source, ClassNames)
        : new Dataset(features, Targets!, Source);

    /// <inheritdoc/>
    public override string ToString() => IsClassification
        ? $"{Source}: {Count} rows × {Dimension} features, {ClassCount} classes"
        : $"{Source}: {Count} rows × {Dimension} features, {Targets!.Columns} targets";
}

/// <summary>A training set and, when the source has one, its own test split.</summary>
public sealed record DataSplit(Dataset Train, Dataset? Test);

/// <summary>A file that does not hold what its format promises; the message names the file and the byte offset or line.</summary>
public sealed class DataFormatException(string message) : IOException(message)
{
    internal static DataFormatException AtOffset(string path, long offset, string what) =>
        new($"{path}: at byte offset {offset}: {what}");

    internal static DataFormatException AtLine(string path, long line, string what) =>
        new($"{path}: line {line}: {what}");
}
