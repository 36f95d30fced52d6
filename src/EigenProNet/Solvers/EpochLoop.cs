using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Solvers;

/// <summary>One SGD step on the batch <paramref name="ids"/>; returns whether the model is whole afterwards (observers then see the batch).</summary>
internal delegate bool BatchStep(ReadOnlySpan<int> ids, int epoch, int batchIndex, int batchCount);

/// <summary>
/// The epoch loop every EigenPro version shares: a fresh permutation of the n rows per epoch cut into batches, the
/// solver's step on each, progress and observer callbacks, a divergence check, and the per-epoch evaluation.
/// </summary>
internal static class EpochLoop
{
    /// <summary>
    /// Runs the epochs (evaluating after each, or only after the last); <paramref name="afterEpoch"/> may stop early by returning true. With <paramref name="resume"/>,
    /// its weights are installed and the first checkpoint.Epoch epochs only replay what <paramref name="replayBatch"/> draws
    /// for a batch (the inexact projections' shuffles). Epoch e's order is stream (<see cref="SeedStreams.EpochShuffle"/>, e)
    /// of <paramref name="seed"/>: independent of the samples and subsets drawn from the same seed. <paramref name="endOfEpoch"/>
    /// runs after an epoch's batches, before the weights are checked and evaluated.
    /// </summary>
    public static List<EpochReport> Run(int epochs, int n, int batch, int seed, KernelModel model, Matrix weights, double step,
        Evaluation evaluation, BatchStep batchStep, IProgress<TrainingProgress>? progress, ITrainingObserver? observer,
        CancellationToken cancellationToken, Func<EpochReport, bool>? afterEpoch = null, TrainingCheckpoint? resume = null,
        Action<int, int>? replayBatch = null, bool evaluateEveryEpoch = true, Action? endOfEpoch = null)
    {
        int batches = (n + batch - 1) / batch;
        var reports = new List<EpochReport>();
        int first = 1;
        if (resume is not null)
        {
            if (resume.Weights.Rows != weights.Rows || resume.Weights.Columns != weights.Columns)
                throw new ArgumentException(
                    $"The checkpoint holds {resume.Weights.Shape} weights, this run needs ({weights.Rows}, {weights.Columns}): another dataset or other settings.", "ResumeFrom");
            if (resume.Epoch < 0 || resume.Epoch > epochs)
                throw new ArgumentException($"The checkpoint is at epoch {resume.Epoch}, this run has {epochs} epochs.", "ResumeFrom");
            Guard.AllFinite(resume.Weights, "ResumeFrom");
            resume.Weights.Data.CopyTo(weights.Data, 0);
            for (int epoch = 1; epoch <= resume.Epoch; epoch++)
                for (int bi = 0; bi < batches; bi++) replayBatch?.Invoke(bi, batches);
            first = resume.Epoch + 1;
        }
        observer?.OnStart(model);
        for (int epoch = first; epoch <= epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var order = Preprocessing.Permutation(n, SeedStreams.Create(seed, SeedStreams.EpochShuffle, epoch));
            for (int bi = 0; bi < batches; bi++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = bi * batch, m = Math.Min(batch, n - start);
                if (batchStep(order.AsSpan(start, m), epoch, bi, batches)) observer?.OnBatch(epoch, bi + 1, model);
                progress?.Report(new TrainingProgress("train", epoch, epochs, bi + 1, batches, (long)start + m, epochClock.Elapsed));
            }
            endOfEpoch?.Invoke();
            double seconds = epochClock.Elapsed.TotalSeconds;
            GuardFinite(weights, epoch, step);
            if (!evaluateEveryEpoch && epoch < epochs) continue;
            progress?.Report(new TrainingProgress("evaluate", epoch, epochs, batches, batches, n, epochClock.Elapsed));
            var evalClock = Stopwatch.StartNew();
            var (trainMse, trainAcc, testMse, testAcc) = evaluation.Run(model, cancellationToken);
            var report = new EpochReport(epoch, seconds, evalClock.Elapsed.TotalSeconds, trainMse, trainAcc, testMse, testAcc);
            GuardProgress(report, evaluation.TargetMeanSquare, step);
            reports.Add(report);
            observer?.OnEpoch(report, model);
            if (afterEpoch?.Invoke(report) == true) break;
        }
        return reports;
    }

    /// <summary>Divergence the finite-weights check misses: the training MSE far above the all-zero model's.</summary>
    private static void GuardProgress(EpochReport report, double zeroModelMse, double step)
    {
        if (!(report.TrainMse > 1e4 * Math.Max(zeroModelMse, 1e-30))) return;
        throw new InvalidOperationException(FormattableString.Invariant(
            $"Training diverged by epoch {report.Epoch}: the training MSE is {report.TrainMse:G3}, {report.TrainMse / Math.Max(zeroModelMse, 1e-30):G2} × the all-zero model's {zeroModelMse:G3} (step {step:G4} per sample). The Nyström sample's spectrum decides the step: is the sample a random draw of the training rows?"));
    }

    private static void GuardFinite(Matrix weights, int epoch, double step)
    {
        if (float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(weights.Data))) return;
        foreach (float w in weights.Data)
            if (!float.IsFinite(w))
                throw new InvalidOperationException($"Training diverged in epoch {epoch}: the weights are no longer finite (step size {step:G4} per sample is too large).");
    }
}
