using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Models;

/// <summary>
/// A trained kernel machine f(x) = K(x, Z)·W with centers Z (p × d) and weights W (p × c). Classification models
/// predict the class with the largest output (the sign of a single output); regression models return the outputs.
/// When the model carries a <see cref="Preprocessor"/>, <see cref="Predict"/> takes raw features and scales them first.
/// </summary>
public sealed class KernelModel
{
    /// <summary>Creates a model; the matrices are used as given (not copied).</summary>
    /// <exception cref="ArgumentException">Shapes disagree, or values are NaN/Inf.</exception>
    public KernelModel(Kernel kernel, Matrix centers, Matrix weights, int classCount = 0, IReadOnlyList<string>? classNames = null,
        Preprocessor? preprocessor = null) : this(kernel, centers, null, weights, classCount, classNames, preprocessor)
    {
    }

    /// <summary>A model on centers a solver has already prepared (<paramref name="prepared"/>.Points is <paramref name="centers"/>).</summary>
    internal KernelModel(Kernel kernel, Matrix centers, KernelRows? prepared, Matrix weights, int classCount = 0,
        IReadOnlyList<string>? classNames = null, Preprocessor? preprocessor = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(centers);
        ArgumentNullException.ThrowIfNull(weights);
        Guard.Rows(weights, centers.Rows, nameof(weights));
        Guard.AllFinite(weights, nameof(weights));
        if (classCount < 0) throw new ArgumentException($"Expected a class count ≥ 0, found {classCount}.", nameof(classCount));
        if (classCount > 0 && weights.Columns != classCount && !(classCount == 2 && weights.Columns == 1))
            throw new ArgumentException($"A {classCount}-class model needs {classCount} weight columns, found {weights.Columns}.", nameof(weights));
        Kernel = kernel;
        Centers = centers;
        Weights = weights;
        ClassCount = classCount;
        ClassNames = classNames;
        Preprocessor = preprocessor;
        if (prepared is not null && (!ReferenceEquals(prepared.Kernel, kernel) || !ReferenceEquals(prepared.Points.Storage, centers.Data)
                || prepared.Count != centers.Rows || prepared.Points.Offset != 0))
            throw new ArgumentException("The prepared rows are not these centers under this kernel.", nameof(prepared));
        CenterRows = prepared ?? kernel.Prepare(centers, nameof(centers));
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>Centers Z (p × d), in the scaled feature space.</summary>
    public Matrix Centers { get; }

    /// <summary>Weights W (p × c).</summary>
    public Matrix Weights { get; }

    /// <summary>Number of classes, 0 for regression.</summary>
    public int ClassCount { get; }

    /// <summary>Class names, when known.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>The scaling applied to raw inputs by <see cref="Predict"/>, or null when inputs are already scaled.</summary>
    public Preprocessor? Preprocessor { get; }

    /// <summary>Number of outputs c.</summary>
    public int OutputCount => Weights.Columns;

    /// <summary>Input dimension d.</summary>
    public int Dimension => Centers.Columns;

    /// <summary>The centers prepared for the kernel.</summary>
    public KernelRows CenterRows { get; }

    /// <summary>The same model with another preprocessor (centers and weights shared).</summary>
    public KernelModel WithPreprocessor(Preprocessor? preprocessor) =>
        new(Kernel, Centers, CenterRows, Weights, ClassCount, ClassNames, preprocessor);

    /// <summary>The same model labelled with <paramref name="classCount"/> classes and their names (centers and weights shared).</summary>
    internal KernelModel WithClasses(int classCount, IReadOnlyList<string>? classNames) =>
        new(Kernel, Centers, CenterRows, Weights, classCount, classNames, Preprocessor);

    /// <summary>Outputs f(x) = K(x, Z)·W for every row of <paramref name="x"/>, in memory-bounded blocks.</summary>
    /// <exception cref="ArgumentException">Wrong number of features, or NaN/Inf.</exception>
    public Matrix Predict(Matrix x, MemoryBudget? budget = null, CancellationToken cancellationToken = default, ComputeContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != Dimension)
            throw new ArgumentException($"The model expects {Dimension} features, the data has {x.Columns}.", nameof(x));
        var scaled = Preprocessor is null ? x : Preprocessor.Transform(x);
        return PredictScaled(Kernel.Prepare(scaled, nameof(x), context), budget, cancellationToken, context);
    }

    /// <summary>Outputs for rows already scaled and prepared for the kernel (what the solvers evaluate with).</summary>
    public Matrix PredictScaled(KernelRows x, MemoryBudget? budget = null, CancellationToken cancellationToken = default,
        ComputeContext? context = null)
    {
        var output = new Matrix(x.Count, OutputCount);
        Kernel.Multiply(x, CenterRows, Weights, output, budget, cancellationToken: cancellationToken, context: context);
        return output;
    }

    /// <summary>Predicted class per row (argmax of the outputs, or their sign for one output).</summary>
    /// <exception cref="InvalidOperationException">The model is a regression model.</exception>
    public int[] PredictClasses(Matrix x, MemoryBudget? budget = null, CancellationToken cancellationToken = default,
        ComputeContext? context = null)
    {
        if (ClassCount == 0) throw new InvalidOperationException("A regression model has no classes; use Predict.");
        return Metrics.ArgMax(Predict(x, budget, cancellationToken, context));
    }

    /// <summary>Accuracy (classification) on <paramref name="data"/>, or −MSE for regression — higher is better, as in scikit-learn.</summary>
    public double Score(Dataset data, MemoryBudget? budget = null, CancellationToken cancellationToken = default,
        ComputeContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var outputs = Predict(data.Features, budget, cancellationToken, context);
        return data.Labels is not null ? Metrics.Accuracy(outputs, data.Labels) : -Metrics.MeanSquaredError(outputs, data.Targets!);
    }

    /// <summary>Accuracy of the predicted classes of <paramref name="x"/> against <paramref name="labels"/> (one per row).</summary>
    /// <exception cref="ArgumentException">Wrong number of features or labels.</exception>
    public double Score(Matrix x, IReadOnlyList<int> labels, MemoryBudget? budget = null, CancellationToken cancellationToken = default,
        ComputeContext? context = null) =>
        Metrics.ScoreLabels(x, labels, rows => Predict(rows, budget, cancellationToken, context));

    /// <summary>−MSE of the outputs for <paramref name="x"/> against <paramref name="targets"/> (n × outputs) — higher is better.</summary>
    /// <exception cref="ArgumentException">Wrong number of features, or targets of another shape.</exception>
    public double Score(Matrix x, Matrix targets, MemoryBudget? budget = null, CancellationToken cancellationToken = default,
        ComputeContext? context = null) =>
        Metrics.ScoreTargets(x, targets, rows => Predict(rows, budget, cancellationToken, context));

    /// <summary>Writes the model file (see <see cref="ModelFile"/>).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) => ModelFile.Save(path, this, metadata);

    /// <summary>Reads a model file.</summary>
    public static KernelModel Load(string path) => ModelFile.Load(path).Model;
}

/// <summary>The metrics every solver reports (spec eigenpro.md §1.10).</summary>
public static class Metrics
{
    /// <summary>Mean over all entries of (P − Y)².</summary>
    public static double MeanSquaredError(MatrixView predictions, MatrixView targets)
    {
        Guard.SameShape(targets, predictions, nameof(predictions));
        double sum = 0;
        for (int i = 0; i < predictions.Rows; i++)
        {
            var p = predictions.Row(i);
            var y = targets.Row(i);
            for (int j = 0; j < p.Length; j++) { double d = (double)p[j] - y[j]; sum += d * d; }   // the difference in float64: no float32 rounding of small errors
        }
        long count = (long)predictions.Rows * predictions.Columns;
        return count == 0 ? 0 : sum / count;
    }

    /// <summary>Mean over rows of (P − onehot(labels))², averaged over outputs.</summary>
    public static double MeanSquaredError(MatrixView predictions, IReadOnlyList<int> labels)
    {
        double sum = 0;
        for (int i = 0; i < predictions.Rows; i++)
        {
            var p = predictions.Row(i);
            for (int j = 0; j < p.Length; j++) { double d = (double)p[j] - (labels[i] == j ? 1 : 0); sum += d * d; }
        }
        long count = (long)predictions.Rows * predictions.Columns;
        return count == 0 ? 0 : sum / count;
    }

    /// <summary>Every model's <c>Score(x, labels)</c>: the rows checked before predicting (a mismatch costs no kernel evaluation).</summary>
    internal static double ScoreLabels(Matrix x, IReadOnlyList<int> labels, Func<Matrix, Matrix> predict)
    {
        ArgumentNullException.ThrowIfNull(labels);
        CheckRows(x, labels.Count, "labels");
        return Accuracy(predict(x), labels);
    }

    /// <summary>Every model's <c>Score(x, targets)</c>: −MSE, the rows checked before predicting.</summary>
    internal static double ScoreTargets(Matrix x, Matrix targets, Func<Matrix, Matrix> predict)
    {
        ArgumentNullException.ThrowIfNull(targets);
        CheckRows(x, targets.Rows, "targets");
        return -MeanSquaredError(predict(x), targets);
    }

    private static void CheckRows(Matrix x, int rows, string what)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rows != rows) throw new ArgumentException($"x has {x.Rows} rows but {what} has {rows}.", what);
    }

    /// <summary>Fraction of rows whose predicted class equals the label.</summary>
    public static double Accuracy(MatrixView predictions, IReadOnlyList<int> labels)
    {
        if (labels.Count != predictions.Rows) throw new ArgumentException($"{predictions.Rows} predictions but {labels.Count} labels.", nameof(labels));
        var predicted = ArgMax(predictions);
        int correct = 0;
        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == labels[i]) correct++;
        return predicted.Length == 0 ? 0 : (double)correct / predicted.Length;
    }

    /// <summary>Index of the largest output per row; with one output, 1 when it is positive and 0 otherwise.</summary>
    public static int[] ArgMax(MatrixView outputs)
    {
        var result = new int[outputs.Rows];
        for (int i = 0; i < outputs.Rows; i++)
        {
            var row = outputs.Row(i);
            if (row.Length == 1) { result[i] = row[0] > 0 ? 1 : 0; continue; }
            int best = 0;
            for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
            result[i] = best;
        }
        return result;
    }
}
