using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Solvers;

/// <summary>
/// Kernel ridge regression solved directly: α = (K(X, X) + λ·I)⁻¹·Y by Cholesky. Forms the n × n kernel matrix,
/// so it is for problems whose matrix (twice: K and its factor) fits the memory budget; the reference the
/// iterative solvers are tested against.
/// </summary>
public sealed class DirectSolver : IKernelSolver
{
    /// <summary>Creates the solver with ridge <paramref name="ridge"/> (λ ≥ 0; 0 interpolates, with reported jitter if needed).</summary>
    public DirectSolver(Kernel kernel, double ridge = 0.0, MemoryBudget? budget = null, ComputeContext? compute = null)
    {
        Compute = compute ?? ComputeContext.Default;
        Kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        if (!(ridge >= 0) || !double.IsFinite(ridge)) throw new ArgumentException($"The ridge must be finite and ≥ 0, found {ridge}.", nameof(ridge));
        Ridge = ridge;
        Budget = budget ?? MemoryBudget.Default;
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>Ridge λ added to the diagonal.</summary>
    public double Ridge { get; }

    /// <summary>Memory budget for the n × n matrices.</summary>
    public MemoryBudget Budget { get; }

    /// <summary>Threads and SIMD path of the kernel matrix, the factorisation and the evaluation.</summary>
    public ComputeContext Compute { get; }

    /// <summary>Bytes the solver needs for n training rows (K and its Cholesky factor).</summary>
    public static long RequiredBytes(int n) => 2L * 4 * n * n;

    /// <summary>Trains on scaled features <paramref name="x"/> and targets <paramref name="y"/>.</summary>
    /// <exception cref="InvalidOperationException">The n × n matrices exceed the memory budget, or K + λI is not positive definite even with jitter.</exception>
    public TrainingResult Fit(Matrix x, Matrix y, Matrix? validationX = null, Matrix? validationY = null, int classCount = 0,
        IProgress<TrainingProgress>? progress = null, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        TrainingInput.Check(x, y, validationX, validationY, 1, "The direct solver");
        int n = x.Rows;
        if (RequiredBytes(n) > Budget.Bytes)
            throw new MemoryBudgetExceededException($"The direct solver needs {MemoryBudget.Format(RequiredBytes(n))} for n = {n} rows, more than the memory budget {Budget}; use EigenPro or raise the budget.");
        var clock = Stopwatch.StartNew();
        progress?.Report(new TrainingProgress("setup", 0, 1, 0, 1, 0, TimeSpan.Zero));
        var points = Kernel.Prepare(x, nameof(x), Compute);
        observer?.OnStart(new KernelModel(Kernel, x, points, new Matrix(n, y.Columns), classCount));
        var k = new Matrix(n, n);
        Kernel.EvaluateSymmetric(points, k, Compute);
        cancellationToken.ThrowIfCancellationRequested();
        if (Ridge > 0)
            for (int i = 0; i < n; i++) k[i, i] += (float)Ridge;
        var factor = Cholesky.Factor(k, context: Compute);
        var weights = factor.Solve(y);
        double seconds = clock.Elapsed.TotalSeconds;
        progress?.Report(new TrainingProgress("evaluate", 1, 1, 1, 1, n, clock.Elapsed));
        var model = new KernelModel(Kernel, x, points, weights, classCount);
        var evalClock = Stopwatch.StartNew();
        var evaluation = new Evaluation(Kernel, points, y, validationX, validationY, n, classCount > 0, 1, Budget, Compute);
        var (trainMse, trainAcc, testMse, testAcc) = evaluation.Run(model, cancellationToken);
        var report = new EpochReport(1, seconds, evalClock.Elapsed.TotalSeconds, trainMse, trainAcc, testMse, testAcc);
        observer?.OnEpoch(report, model);
        var settings = new DirectSettings
        {
            Kernel = Kernel.ToString(),
            TrainingRows = n,
            Ridge = Ridge,
            Jitter = factor.Jitter,
            SetupSeconds = seconds,
        };
        return new TrainingResult(model, [report], settings);
    }
}
