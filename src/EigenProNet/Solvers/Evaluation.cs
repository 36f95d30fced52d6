using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Solvers;

/// <summary>The per-epoch evaluation: a fixed random training subset and the validation data, prepared once.</summary>
internal sealed class Evaluation
{
    private readonly KernelRows _train;
    private readonly Matrix _trainTargets;
    private readonly KernelRows? _test;
    private readonly Matrix? _testTargets;
    private readonly bool _classification;
    private readonly MemoryBudget _budget;
    private readonly ComputeContext _compute;

    public Evaluation(Kernel kernel, KernelRows x, Matrix y, Matrix? testX, Matrix? testY, int trainRows, bool classification, int seed, MemoryBudget budget,
        ComputeContext compute)
        : this(kernel, TrainingRows.InMemory(x), y, testX, testY, trainRows, classification, seed, budget, compute)
    {
    }

    public Evaluation(Kernel kernel, TrainingRows x, Matrix y, Matrix? testX, Matrix? testY, int trainRows, bool classification, int seed, MemoryBudget budget,
        ComputeContext compute)
    {
        _classification = classification;
        _budget = budget;
        _compute = compute;
        if (trainRows >= x.Count && x.All is { } all)
        {
            _train = all;
            _trainTargets = y;
        }
        else
        {
            // A fixed random subset (all rows of a streamed source when there are no more than asked for).
            var rows = Preprocessing.Permutation(x.Count, SeedStreams.Create(seed, SeedStreams.EvaluationRows))[..Math.Min(trainRows, x.Count)];
            Array.Sort(rows);
            _trainTargets = new Matrix(rows.Length, y.Columns);
            for (int i = 0; i < rows.Length; i++) y.Row(rows[i]).CopyTo(_trainTargets.Row(i));
            _train = kernel.Prepare(x.Gather(rows), "training evaluation rows", compute);
        }
        if (testX is not null && testY is not null)
        {
            _test = kernel.Prepare(testX, "validation features", compute);
            _testTargets = testY;
        }
    }

    public bool HasTest => _test is not null;

    /// <summary>Mean square of the evaluated training targets: the MSE of the all-zero model.</summary>
    public double TargetMeanSquare => Metrics.MeanSquaredError(new Matrix(_trainTargets.Rows, _trainTargets.Columns), _trainTargets);

    public (double TrainMse, double? TrainAccuracy, double? TestMse, double? TestAccuracy) Run(KernelModel model, CancellationToken ct)
    {
        var p = model.PredictScaled(_train, _budget, ct, _compute);
        double trainMse = Metrics.MeanSquaredError(p, _trainTargets);
        double? trainAcc = _classification ? Accuracy(p, _trainTargets) : null;
        if (_test is null) return (trainMse, trainAcc, null, null);
        var pt = model.PredictScaled(_test, _budget, ct, _compute);
        return (trainMse, trainAcc, Metrics.MeanSquaredError(pt, _testTargets!), _classification ? Accuracy(pt, _testTargets!) : null);
    }

    private static double Accuracy(Matrix predictions, Matrix targets) => Metrics.Accuracy(predictions, Metrics.ArgMax(targets));
}
