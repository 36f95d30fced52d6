using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>Settings of <see cref="EigenPro2"/>; every null is chosen automatically (spec eigenpro.md §1.11).</summary>
public sealed record EigenPro2Options : SolverOptions
{
    /// <summary>Options with EigenPro 2's defaults (5 epochs).</summary>
    public EigenPro2Options() => Epochs = 5;

    /// <summary>Nyström subsample size s; default min(n, 2000) below 100 000 rows, else 12 000 (§1.2).</summary>
    public int? SubsampleSize { get; init; }

    /// <summary>Eigen-directions k to flatten, in [0, s − 1] (the reference's top_q is k + 1); automatic by §1.5 when null.</summary>
    public int? Directions { get; init; }

    /// <summary>
    /// The Nyström subsample as training-row indices instead of a random draw (SubsampleSize of them, or their count
    /// when SubsampleSize is null): RFM pins it for all its iterations so a recorder sees the same points.
    /// </summary>
    public IReadOnlyList<int>? SubsampleIndices { get; init; }

    /// <summary>Batch size; default min(m*, the memory limit) (§1.7).</summary>
    public int? BatchSize { get; init; }

    /// <summary>The reference's η (the per-sample step is η/b); automatic by §1.7 when null.</summary>
    public double? Eta { get; init; }

    /// <summary>Damping exponent α of the flattening (0.95 in EigenPro 2).</summary>
    public double DampingExponent { get; init; } = 0.95;

    /// <summary>Most eigenpairs computed for the automatic q (§1.11).</summary>
    public int MaxEigenpairs { get; init; } = 1000;

    /// <summary>Stop when the validation MSE has not improved for this many epochs, keeping the best weights (null: never).</summary>
    public int? EarlyStoppingPatience { get; init; }
}

/// <summary>
/// EigenPro 2 (Ma &amp; Belkin, SysML 2019; spec eigenpro.md §1): preconditioned SGD on the interpolation problem
/// K(X, X)·α = Y with the centers equal to the training points. Each batch B:
/// G = K(X_B, X)·α − Y_B; α[B] −= η·G; α[S] += η·U·diag(r)·Uᵀ·K(S, X_B)·G (scatter-add, §1.8).
/// </summary>
public sealed class EigenPro2 : IKernelSolver
{
    /// <summary>Creates the solver.</summary>
    public EigenPro2(Kernel kernel, EigenPro2Options? options = null)
    {
        Kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        Options = options ?? new EigenPro2Options();
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>EigenPro 2's rule (§1.7): step 1/β below m* = β/λ₁′ + 1, 0.99·2/(β + (b − 1)λ₁′) from it on.</summary>
    public static StepRule StepRule { get; } = new TopEigenvalueStepRule(1);

    /// <summary>The settings.</summary>
    public EigenPro2Options Options { get; }

    /// <summary>
    /// Trains on features <paramref name="x"/> (n × d, already scaled) and targets <paramref name="y"/> (n × c).
    /// <paramref name="classCount"/> &gt; 0 reports accuracies (argmax of the outputs against argmax of the targets).
    /// </summary>
    /// <exception cref="ArgumentException">Empty data, row mismatch, NaN/Inf, or options out of range.</exception>
    /// <exception cref="InvalidOperationException">The memory budget cannot hold one batch or the Nyström matrix.</exception>
    public TrainingResult Fit(Matrix x, Matrix y, Matrix? validationX = null, Matrix? validationY = null, int classCount = 0,
        IProgress<TrainingProgress>? progress = null, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        TrainingInput.Check(x, y, validationX, validationY, 2, "EigenPro 2");
        int n = x.Rows, c = y.Columns;
        var o = Options;
        if (o.Epochs < 1) throw new ArgumentException($"Epochs must be at least 1, found {o.Epochs}.", nameof(Options));
        var budget = o.Budget ?? MemoryBudget.Default;
        var compute = o.Compute ?? ComputeContext.Default;
        var clock = Stopwatch.StartNew();
        progress?.Report(new TrainingProgress("setup", 0, o.Epochs, 0, 0, 0, TimeSpan.Zero));

        var points = Kernel.Prepare(x, nameof(x), compute);
        int s = o.SubsampleSize ?? o.SubsampleIndices?.Count ?? (n < 100_000 ? Math.Min(n, 2000) : 12_000);
        if (s > n) throw new ArgumentException($"The subsample size {s} is larger than the {n} training rows.", nameof(Options));
        if (s < 2) throw new ArgumentException($"The subsample size must be at least 2, found {s}.", nameof(Options));
        // Per batch row: a row of K(X_B, X), one of K(X_B, S), the gathered features and the residual.
        long bytesPerRow = 4L * (n + s + x.Columns + c);
        // What the run holds throughout — the weights, X packed for the products (when that fits in half the budget),
        // the preconditioner (at most s − 1 directions) — and then the batch's and the evaluation's shares of the rest,
        // 15 % left for what is not itemised (the runtime's garbage between collections).
        var left = budget.After($"EigenPro 2 on {n} rows", ("the weights", 4L * n * c), ("the packed training rows", points.PackedCopyBytesWithin(budget, compute.Path)),
            ("the preconditioner", 4L * s * (x.Columns + 1 + Math.Min(s, o.MaxEigenpairs))));
        var (batchShare, evaluationShare) = (left.Share(0.6), left.Share(0.25));
        int memoryBatch = batchShare.RowsThatFit(bytesPerRow, Math.Min(n, s), 1, "a training batch");
        if (o.Directions is int k && (k < 0 || k > s - 1))
            throw new ArgumentException($"The directions k must be in [0, s − 1 = {s - 1}], found {k}.", nameof(Options));
        var pre = NystromPreconditioner.Build(points, new NystromOptions
        {
            SubsampleSize = s,
            Directions = o.Directions,
            DampingExponent = o.DampingExponent,
            MaxBatchSize = memoryBatch,
            MaxEigenpairs = o.MaxEigenpairs,
            StepRule = StepRule,
            Seed = o.Seed,
            SubsampleIndices = o.SubsampleIndices,
            Budget = budget,
            Compute = compute,
        }, cancellationToken);
        observer?.OnPreconditioner(pre);
        MemoryBudget.ReleaseBetweenPhases();   // the Nyström build's K(S, S) and eigensolver workspace, before training's buffers

        int batch = o.BatchSize ?? Math.Min(pre.CriticalBatchSize, memoryBatch);
        if (batch < 1 || batch > n) throw new ArgumentException($"The batch size must be in [1, n = {n}], found {batch}.", nameof(Options));
        if (o.BatchSize is int userBatch && userBatch > memoryBatch)
            throw new MemoryBudgetExceededException($"A batch of {userBatch} rows needs {MemoryBudget.Format(bytesPerRow * userBatch)}, more than the memory budget {budget} allows ({memoryBatch} rows).");
        double step = o.Eta is double eta ? eta / batch : pre.StepSize(batch);
        if (!(step > 0) || !double.IsFinite(step)) throw new ArgumentException($"The step size must be positive and finite, found {step}.", nameof(Options));
        var settings = new EigenPro2Settings
        {
            Kernel = Kernel.ToString(),
            TrainingRows = n,
            SubsampleSize = s,
            Directions = pre.Directions,
            BatchSize = batch,
            StepSize = step,
            Eta = step * batch,
            Beta = pre.Beta,
            BetaEstimate = BetaEstimates.Name(pre.BetaEstimate),
            MaxKernelDiagonal = pre.MaxKernelDiagonal,
            TopEigenvalue = pre.Spectrum[0],
            PreconditionedTopEigenvalue = pre.TopEigenvalue,
            TailEigenvalue = pre.TailEigenvalue,
            CriticalBatchSize = pre.CriticalBatchSize,
            MemoryBatchLimit = memoryBatch,
            SetupSeconds = clock.Elapsed.TotalSeconds,
            Seed = o.Seed,
        };

        // Every batch and every evaluation multiplies by K(·, X): X packed once for the GEMM saves re-packing it in each
        // product (7 % of it on Fashion-MNIST). The model returned holds the plain rows, so the copy ends with the training.
        var centers = points.PackedWithin(budget, compute);
        var iteration = new EigenProIteration(centers, pre, c, batch, step, batchShare, compute);
        var weights = iteration.Weights;   // the resumed epoch loop installs a checkpoint before the first step
        var model = new KernelModel(Kernel, x, centers, weights, classCount);
        var evaluation = new Evaluation(Kernel, centers, y, validationX, validationY, o.TrainEvaluationRows, classCount > 0, o.Seed, evaluationShare, compute);
        Matrix? bestWeights = null;
        double bestMse = double.PositiveInfinity;
        int bestEpoch = 0;
        var reports = EpochLoop.Run(o.Epochs, n, batch, o.Seed, model, weights, step, evaluation,
            (ids, _, _, _) => { iteration.Step(ids, y, cancellationToken); return true; },
            progress, observer, cancellationToken, report =>
            {
                if (o.EarlyStoppingPatience is not int patience || report.TestMse is not double vm) return false;
                if (vm < bestMse)
                {
                    bestMse = vm;
                    bestEpoch = report.Epoch;
                    bestWeights = weights.Clone();
                    return false;
                }
                return report.Epoch - bestEpoch >= patience;
            }, o.ResumeFrom, evaluateEveryEpoch: o.EvaluateEveryEpoch || o.EarlyStoppingPatience is not null);
        if (bestWeights is not null && bestEpoch != reports.Count)
            bestWeights.Data.CopyTo(weights.Data, 0);
        return new TrainingResult(new KernelModel(Kernel, x, points, weights, classCount), reports, settings, bestWeights is not null ? bestEpoch : null);
    }
}
