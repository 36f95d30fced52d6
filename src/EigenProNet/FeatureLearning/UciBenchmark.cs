using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Solvers;

namespace EigenProNet.FeatureLearning;

/// <summary>Settings of the UCI benchmark protocol (spec rfm-and-dynamics.md §1.4, the RFM paper's tabular code).</summary>
public sealed record UciBenchmarkOptions
{
    /// <summary>Ridge grid, in the order searched (ties go to the earlier entry).</summary>
    public IReadOnlyList<double> Ridges { get; init; } = [10, 1, 0.1, 1e-2, 1e-3];

    /// <summary>Row normalisation grid (divide each row by its L2 norm), in the order searched.</summary>
    public IReadOnlyList<bool> RowNormalization { get; init; } = [true, false];

    /// <summary>RFM iterations T.</summary>
    public int Iterations { get; init; } = 5;

    /// <summary>Bandwidth L of the (Mahalanobis-)Laplace kernel.</summary>
    public double Bandwidth { get; init; } = 10;

    /// <summary>Learn a diagonal M.</summary>
    public bool Diagonal { get; init; }

    /// <summary>Working-memory budget.</summary>
    public MemoryBudget? Budget { get; init; }

    /// <summary>Threads and SIMD path.</summary>
    public ComputeContext? Compute { get; init; }
}

/// <summary>One dataset's benchmark figures.</summary>
/// <param name="Name">Dataset name.</param>
/// <param name="Rows">Rows of the data file the folds index.</param>
/// <param name="Features">Features d.</param>
/// <param name="Classes">Classes.</param>
/// <param name="RfmAccuracy">RFM: mean test accuracy over the 4 folds with the selected (ridge, normalisation, M_t*).</param>
/// <param name="LaplaceAccuracy">The plain Laplace kernel machine (M = I), its (ridge, normalisation) selected the same way.</param>
/// <param name="BestReg">RFM's selected ridge.</param>
/// <param name="BestNormalize">RFM's selected row normalisation.</param>
/// <param name="BestIteration">RFM's selected iteration t* (0 = M = I).</param>
/// <param name="ValidationAccuracy">RFM's validation accuracy at the selection.</param>
/// <param name="LaplaceReg">The Laplace baseline's selected ridge.</param>
/// <param name="LaplaceNormalize">The Laplace baseline's selected row normalisation.</param>
/// <param name="Seconds">Wall time for the dataset.</param>
public sealed record UciDatasetResult(string Name, int Rows, int Features, int Classes, double RfmAccuracy, double LaplaceAccuracy, double BestReg,
    bool BestNormalize, int BestIteration, double ValidationAccuracy, double LaplaceReg, bool LaplaceNormalize, double Seconds);

/// <summary>
/// The RFM paper's protocol on one dataset of the UCI collection (spec rfm-and-dynamics.md §1.4): for every ridge ×
/// row normalisation, RFM with T iterations trained on the <c>conxuntos.dat</c> training rows and scored on its
/// validation rows; (ridge, normalisation, t*) chosen by validation accuracy (strict improvement, the earliest wins);
/// then one solve with M_t* per fold of <c>conxuntos_kfold.dat</c>, accuracy averaged over the 4 folds. The Laplace
/// column is the same protocol restricted to t = 0 (M = I).
/// </summary>
public static class UciBenchmark
{
    /// <summary>Runs the protocol on <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">Options out of range.</exception>
    public static UciDatasetResult Run(UciDataset data, UciBenchmarkOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var o = options ?? new UciBenchmarkOptions();
        if (o.Ridges.Count == 0 || o.RowNormalization.Count == 0) throw new ArgumentException("The ridge and normalisation grids must not be empty.", nameof(options));
        var clock = Stopwatch.StartNew();
        var budget = o.Budget ?? MemoryBudget.Default;
        var compute = o.Compute ?? ComputeContext.Default;
        var all = data.Data;
        var normalized = Normalize(all);
        var (trainRows, validationRows) = data.ValidationSplit;

        (double Accuracy, double Ridge, bool Normalize, int Iteration, Matrix M)? best = null, laplace = null;
        foreach (double ridge in o.Ridges)
            foreach (bool normalize in o.RowNormalization)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var source = normalize ? normalized : all;
                var rfm = new RecursiveFeatureMachine(new RecursiveFeatureMachineOptions
                {
                    Iterations = o.Iterations, Bandwidth = o.Bandwidth, Diagonal = o.Diagonal, Ridge = ridge, Solver = RfmSolver.Direct,
                    Budget = budget, Compute = compute,
                });
                var result = rfm.Fit(source.Subset(trainRows), source.Subset(validationRows), cancellationToken: cancellationToken);
                for (int t = 0; t < result.Iterations.Count; t++)
                {
                    double accuracy = result.Iterations[t].ValidationAccuracy!.Value;
                    if (best is null || accuracy > best.Value.Accuracy) best = (accuracy, ridge, normalize, t, result.Matrices[t]);
                    if (t == 0 && (laplace is null || accuracy > laplace.Value.Accuracy)) laplace = (accuracy, ridge, normalize, 0, result.Matrices[0]);
                }
            }

        double FoldAccuracy((double Accuracy, double Ridge, bool Normalize, int Iteration, Matrix M) choice)
        {
            var source = choice.Normalize ? normalized : all;
            Kernel kernel = choice.Iteration == 0 ? new LaplaceKernel(o.Bandwidth)
                : o.Diagonal ? new MahalanobisLaplaceKernel(o.Bandwidth, choice.M.Row(0)) : new MahalanobisLaplaceKernel(o.Bandwidth, choice.M);
            double sum = 0;
            foreach (var (train, test) in data.Folds)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var model = new DirectSolver(kernel, choice.Ridge, budget, compute).Fit(source.Subset(train), null, null, null, cancellationToken).Model;
                sum += model.Score(source.Subset(test), budget, cancellationToken, compute);
            }
            return sum / data.Folds.Count;
        }

        double rfmAccuracy = FoldAccuracy(best!.Value);
        double laplaceAccuracy = FoldAccuracy(laplace!.Value);
        return new UciDatasetResult(data.Name, all.Count, all.Dimension, all.ClassCount, rfmAccuracy, laplaceAccuracy, best.Value.Ridge,
            best.Value.Normalize, best.Value.Iteration, best.Value.Accuracy, laplace.Value.Ridge, laplace.Value.Normalize, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Each row divided by its L2 norm (all-zero rows stay zero), as the tabular code's <c>normalize</c>.</summary>
    private static Dataset Normalize(Dataset data)
    {
        var x = data.Features.Clone();
        for (int i = 0; i < x.Rows; i++)
        {
            var row = x.Row(i);
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(row);
            if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(row, norm, row);
        }
        return new Dataset(x, data.Labels!, data.ClassCount, data.Source, data.ClassNames);
    }
}
