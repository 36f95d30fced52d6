using System.Numerics.Tensors;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>How features are scaled before the kernel sees them.</summary>
public enum Scaling
{
    /// <summary>Features as stored.</summary>
    None,
    /// <summary>Divide by 255 (8-bit pixels to [0, 1]).</summary>
    Pixels,
    /// <summary>The reference's unit-range normalisation (spec eigenpro.md §2.2): subtract each feature's training minimum, then divide each row by its maximum.</summary>
    UnitRange,
    /// <summary>Divide each row by its Euclidean norm (the EigenPro 2 CIFAR-10 demo).</summary>
    L2,
    /// <summary>Subtract each feature's training mean and divide by its training standard deviation.</summary>
    Standardize,
}

/// <summary>
/// A scaling fitted on training rows and applied unchanged to any later rows (the model file stores it, so
/// <c>predict</c> transforms new data exactly as training did).
/// </summary>
public sealed class Preprocessor
{
    private Preprocessor(Scaling scaling, float[]? offset, float[]? scale)
    {
        Scaling = scaling;
        Offset = offset;
        Scale = scale;
    }

    /// <summary>The scaling.</summary>
    public Scaling Scaling { get; }

    /// <summary>Per-feature value subtracted first (UnitRange: minimum; Standardize: mean), or null.</summary>
    public float[]? Offset { get; }

    /// <summary>Per-feature divisor (Standardize: standard deviation), or null.</summary>
    public float[]? Scale { get; }

    /// <summary>A scaling that needs no fitted statistics (None, Pixels, L2) or restored statistics.</summary>
    public static Preprocessor Create(Scaling scaling, float[]? offset = null, float[]? scale = null)
    {
        bool needsOffset = scaling is Scaling.UnitRange or Scaling.Standardize;
        if (needsOffset != (offset is not null) || (scaling == Scaling.Standardize) != (scale is not null))
            throw new ArgumentException($"Scaling {scaling} needs {(needsOffset ? "fitted statistics" : "no statistics")}; use Fit.");
        return new Preprocessor(scaling, offset, scale);
    }

    /// <summary>The scaling the CLI's <c>--scaling auto</c> means for data in <paramref name="format"/>: pixels for image data, none otherwise.</summary>
    public static Scaling DefaultScaling(DatasetFormat format) =>
        format is DatasetFormat.CifarBinary or DatasetFormat.Idx ? Scaling.Pixels : Scaling.None;

    /// <summary>Fits <paramref name="scaling"/> on <paramref name="train"/> (statistics in float64).</summary>
    public static Preprocessor Fit(Scaling scaling, MatrixView train)
    {
        int d = train.Columns;
        switch (scaling)
        {
            case Scaling.UnitRange:
            {
                var min = new float[d];
                if (train.Rows > 0) train.Row(0).CopyTo(min);
                for (int i = 1; i < train.Rows; i++) TensorPrimitives.Min(min, train.Row(i), min);
                return new Preprocessor(scaling, min, null);
            }
            case Scaling.Standardize:
            {
                var sum = new double[d];
                var sq = new double[d];
                for (int i = 0; i < train.Rows; i++)
                {
                    var row = train.Row(i);
                    for (int j = 0; j < d; j++) { sum[j] += row[j]; sq[j] += (double)row[j] * row[j]; }
                }
                var mean = new float[d];
                var std = new float[d];
                int n = Math.Max(train.Rows, 1);
                for (int j = 0; j < d; j++)
                {
                    double m = sum[j] / n;
                    double v = Math.Max(sq[j] / n - m * m, 0);
                    mean[j] = (float)m;
                    // Constant features stay constant (divide by 1) instead of producing NaN.
                    std[j] = v > 1e-24 ? (float)Math.Sqrt(v) : 1f;
                }
                return new Preprocessor(scaling, mean, std);
            }
            default:
                return new Preprocessor(scaling, null, null);
        }
    }

    /// <summary>Applies the scaling to <paramref name="x"/> in place.</summary>
    public void TransformInPlace(Matrix x, ComputeContext? context = null)
    {
        int threads = Math.Max(1, Math.Min((context ?? ComputeContext.Default).Threads, x.Rows));
        if (Offset is not null && Offset.Length != x.Columns)
            throw new ArgumentException($"The scaling was fitted on {Offset.Length} features, the data has {x.Columns}.", nameof(x));
        Parallelism.Run(threads, t =>
        {
            var (r0, r1) = Parallelism.Share(x.Rows, t, threads);
            for (int i = r0; i < r1; i++) TransformRow(x.Row(i));
        });
    }

    /// <summary>The dataset with its features scaled: a copy, or with <paramref name="inPlace"/> its own matrix changed.</summary>
    public Dataset Transform(Dataset data, bool inPlace = false, ComputeContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var features = inPlace ? data.Features : data.Features.Clone();
        TransformInPlace(features, context);
        return inPlace ? data : data.WithFeatures(features);
    }

    /// <summary>A transformed copy of <paramref name="x"/>.</summary>
    public Matrix Transform(Matrix x)
    {
        var copy = x.Clone();
        TransformInPlace(copy);
        return copy;
    }

    private void TransformRow(Span<float> row)
    {
        switch (Scaling)
        {
            case Scaling.Pixels:
                TensorPrimitives.Multiply(row, 1f / 255f, row);
                break;
            case Scaling.UnitRange:
            {
                TensorPrimitives.Subtract(row, Offset!, row);
                float max = TensorPrimitives.Max(row);
                if (max > 0) TensorPrimitives.Multiply(row, 1f / max, row);
                break;
            }
            case Scaling.L2:
            {
                double norm = Math.Sqrt(TensorPrimitives.Dot<float>(row, row));
                if (norm > 0) TensorPrimitives.Multiply(row, (float)(1 / norm), row);
                break;
            }
            case Scaling.Standardize:
                TensorPrimitives.Subtract(row, Offset!, row);
                TensorPrimitives.Divide(row, Scale!, row);
                break;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Scaling.ToString();
}

/// <summary>Targets, subsampling and splits; every random choice takes a seed.</summary>
public static class Preprocessing
{
    /// <summary>One-hot rows: row i has 1 in column labels[i].</summary>
    public static Matrix OneHot(ReadOnlySpan<int> labels, int classCount)
    {
        var y = new Matrix(labels.Length, classCount);
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount) throw new ArgumentException($"Label {labels[i]} of row {i} is outside [0, {classCount}).", nameof(labels));
            y[i, labels[i]] = 1f;
        }
        return y;
    }

    /// <summary>A seeded random permutation of 0…n−1 (Fisher–Yates).</summary>
    public static int[] Permutation(int n, Random random)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        random.Shuffle(p);
        return p;
    }

    /// <summary>
    /// <paramref name="count"/> distinct row indices drawn per class in proportion to the class sizes
    /// (largest remainders get the leftover rows), in random order.
    /// </summary>
    public static int[] StratifiedSample(IReadOnlyList<int> labels, int classCount, int count, int seed)
    {
        if (count < 0 || count > labels.Count) throw new ArgumentOutOfRangeException(nameof(count), count, $"Expected 0 <= count <= {labels.Count}.");
        var random = new Random(seed);
        var byClass = Enumerable.Range(0, classCount).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < labels.Count; i++) byClass[labels[i]].Add(i);
        var quota = byClass.Select(c => (double)c.Count * count / labels.Count).ToArray();
        var take = quota.Select(q => (int)Math.Floor(q)).ToArray();
        int left = count - take.Sum();
        foreach (int c in Enumerable.Range(0, classCount).OrderByDescending(c => quota[c] - take[c]).ThenBy(c => c).Take(left)) take[c]++;
        var chosen = new List<int>(count);
        for (int c = 0; c < classCount; c++)
        {
            var members = byClass[c].ToArray();
            random.Shuffle(members);
            chosen.AddRange(members.Take(take[c]));
        }
        var result = chosen.ToArray();
        random.Shuffle(result);
        return result;
    }

    /// <summary>
    /// Splits <paramref name="data"/> into training and validation rows, the validation part holding
    /// <paramref name="validationFraction"/> of the rows (stratified for classification).
    /// </summary>
    public static (Dataset Train, Dataset Validation) TrainValidationSplit(Dataset data, double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "Expected a fraction in (0, 1).");
        int validation = (int)Math.Round(data.Count * validationFraction);
        if (validation < 1 || validation >= data.Count)
            throw new ArgumentException($"{data.Source}: {data.Count} rows cannot be split with fraction {validationFraction}.", nameof(data));
        int[] order = data.Labels is not null
            ? StratifiedSample(data.Labels, data.ClassCount, data.Count, seed)
            : Permutation(data.Count, new Random(seed));
        int[] valRows = data.Labels is not null ? StratifiedSample(data.Labels, data.ClassCount, validation, seed) : order[..validation];
        var inVal = new bool[data.Count];
        foreach (int r in valRows) inVal[r] = true;
        var trainRows = order.Where(r => !inVal[r]).ToArray();
        return (data.Subset(trainRows), data.Subset(valRows));
    }

    /// <summary>The first <paramref name="count"/> rows of a stratified sample (all rows when count ≥ n).</summary>
    public static Dataset Sample(Dataset data, int count, int seed)
    {
        if (count >= data.Count) return data;
        int[] rows = data.Labels is not null
            ? StratifiedSample(data.Labels, data.ClassCount, count, seed)
            : Permutation(data.Count, new Random(seed))[..count];
        return data.Subset(rows);
    }
}
