using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>The centers of EigenPro 3 and 4: given by the user, or random training rows.</summary>
internal static class CenterSampling
{
    /// <summary>
    /// The centers, and — when they are s or more random training rows — the data Nyström sample taken from among
    /// them (as training-row indices, sorted, and the centers reordered so that these come first in that order). Both
    /// are then uniform random samples of the training rows, as in the reference, and K(X_b, S) is a column block of
    /// K(X_b, Z), which each batch computes anyway: the data correction costs no kernel evaluations of its own.
    /// </summary>
    public static (Matrix Centers, int[]? Shared) Centers(TrainingRows x, Matrix? given, int count, int s, int seed, IReadOnlyList<int>? pinnedSample)
    {
        const string options = "Options";
        if (given is not null)
        {
            if (given.Rows < 1) throw new ArgumentException("Expected at least one center, found none.", options);
            if (given.Columns != x.Dimension)
                throw new ArgumentException($"The centers have {given.Columns} features, the training data {x.Dimension}.", options);
            Guard.AllFinite(given, "centers");
            return (given, null);
        }
        int p = count;
        if (p < 1) throw new ArgumentException($"Expected at least one center, found {p}.", options);
        if (p > x.Count) throw new ArgumentException($"Cannot sample {p} centers from {x.Count} training rows.", options);
        var rows = Preprocessing.Permutation(x.Count, SeedStreams.Create(seed, SeedStreams.CenterRows))[..p];
        int[]? shared = null;
        if (s <= p && pinnedSample is null)
        {
            // The first s of the random draw are themselves a random sample: they become the data Nyström sample.
            shared = rows[..s];
            Array.Sort(shared);
            Array.Sort(rows, s, p - s);
            shared.CopyTo(rows, 0);
        }
        else Array.Sort(rows);
        return (x.Gather(rows), shared);
    }
}

/// <summary>
/// The setup EigenPro 3 and 4 share (spec eigenpro.md §2.3, §3.5): the centers, the prepared points, the data
/// preconditioner on a Nyström sample of the training rows, and its lift evaluated at the centers, K(Z, S)·U·diag(r).
/// </summary>
internal sealed record CenterModelData(Matrix Centers, TrainingRows Points, KernelRows Z, NystromPreconditioner Data, Matrix LiftAtCenters,
    bool SubsampleLeadsCenters)
{
    /// <summary>
    /// The setup of a streaming model (<see cref="EigenPro3Model"/>, <see cref="EigenPro4Model"/>): checks the centers,
    /// outputs and data sample (naming the argument), then builds on the data sample, every row of which is used
    /// (<paramref name="o"/> must already name the centers and the sample's size).
    /// </summary>
    public static CenterModelData ForStreaming(Kernel kernel, Matrix centers, int outputs, Matrix dataSample, CenterModelOptions o, StepRule rule,
        MemoryBudget budget, ComputeContext compute)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(centers);
        ArgumentNullException.ThrowIfNull(dataSample);
        if (outputs < 1) throw new ArgumentException($"Expected at least one output, found {outputs}.", nameof(outputs));
        if (dataSample.Columns != centers.Columns)
            throw new ArgumentException($"The data sample has {dataSample.Columns} features, the centers {centers.Columns}.", nameof(dataSample));
        if (dataSample.Rows < 2) throw new ArgumentException($"The data sample needs at least 2 rows, found {dataSample.Rows}.", nameof(dataSample));
        var sample = TrainingRows.InMemory(kernel.Prepare(dataSample, nameof(dataSample), compute));
        return Build(kernel, sample, o, rule, [], budget, compute, null, default);
    }

    /// <summary>Checks and clamps the data sample and level (each clamp noted in <paramref name="warnings"/>), then builds everything.</summary>
    public static CenterModelData Build(Kernel kernel, TrainingRows x, CenterModelOptions o, StepRule rule, List<string> warnings,
        MemoryBudget budget, ComputeContext compute, ITrainingObserver? observer, CancellationToken ct)
    {
        const string options = "Options";
        int n = x.Count, s = o.DataSubsampleSize;
        if (s < 2) throw new ArgumentException($"The data Nyström sample must be at least 2, found {s}.", options);
        if (s > n)
        {
            warnings.Add($"data Nyström sample {s} clamped to the {n} training rows");
            s = n;
        }
        if (o.DataLevel < 1) throw new ArgumentException($"The data preconditioner level must be at least 1, found {o.DataLevel}.", options);
        int q = Math.Min(o.DataLevel, s - 1);
        if (q < o.DataLevel) warnings.Add($"data preconditioner level {o.DataLevel} clamped to s − 1 = {q}");
        // Refused before anything is computed when the setup's peak cannot fit: the centers (and their packed copy), the
        // data preconditioner's build and its lift at the centers, and one row of K(Z, S).
        // (A count beyond the rows is refused by the sampling below, with its own message.)
        int p = o.Centers?.Rows ?? Math.Clamp(o.CenterCount, 1, n), d = x.Dimension;
        budget.Require($"The setup of {p} centers", [("the centers", CentersBytes(p, d)), .. NystromPreconditioner.SetupParts(s, q + 1),
            ($"the lift at the centers ({p}×{q})", 4L * p * q), ("a row of K(Z, S)", 4L * s)]);
        var (centers, shared) = CenterSampling.Centers(x, o.Centers, o.CenterCount, s, o.Seed, o.DataSubsampleIndices);
        var z = kernel.Prepare(centers, "centers", compute);
        // Every batch multiplies by K(·, Z): the centers packed once for the GEMM instead of in every product.
        z = z.PackedWithin(budget, compute);
        // α = 1 (no damping) and the version's own step rule.
        var pre = NystromPreconditioner.Build(kernel, n, ids => x.Gather(ids), new NystromOptions
        {
            SubsampleSize = s, Directions = q, DampingExponent = 1.0, StepRule = rule, Beta = o.Beta, Seed = o.Seed,
            Budget = budget, Compute = compute, SubsampleIndices = shared ?? o.DataSubsampleIndices,
        }, ct);
        observer?.OnPreconditioner(pre);
        MemoryBudget.ReleaseBetweenPhases();   // the Nyström build's K(S, S) and eigensolver workspace, before K(Z, S)
        var liftAtCenters = new Matrix(centers.Rows, pre.Directions);
        // K(Z, S) a block of centers at a time (p × s whole would be the setup's largest buffer), within half of what is
        // left and a kernel block's most.
        var left = budget.After("K(Z, S) in blocks", ("the centers and the data preconditioner", Held(centers, z, pre, liftAtCenters)));
        int block = new MemoryBudget(Math.Min(left.Bytes / 2, Kernel.MaxBlockBytes)).RowsThatFit(4L * s, centers.Rows, 1, "a block of K(Z, S)");
        var centersBySubsample = new Matrix(block, s);
        for (int i0 = 0; i0 < centers.Rows; i0 += block)
        {
            int rows = Math.Min(block, centers.Rows - i0);
            var kzs = centersBySubsample.RowBlock(0, rows);
            kernel.Evaluate(z.Slice(i0, rows), pre.Subsample, kzs, compute);
            pre.LiftAt(kzs, liftAtCenters.RowBlock(i0, rows));
        }
        MemoryBudget.ReleaseBetweenPhases();   // K(Z, S)'s block, before training's buffers
        return new CenterModelData(centers, x, z, pre, liftAtCenters, shared is not null);
    }

    private static long CentersBytes(int p, int d) => 4L * p * (d + 1);

    /// <summary>What the setup holds for the whole run: the centers (and their packed copy), the data preconditioner, its lift at the centers.</summary>
    public long Bytes => Held(Centers, Z, Data, LiftAtCenters);

    private static long Held(Matrix centers, KernelRows z, NystromPreconditioner pre, Matrix lift) =>
        CentersBytes(centers.Rows, centers.Columns) + z.PackedCopyBytes + pre.Bytes + 4L * lift.Data.LongLength;

    /// <summary>
    /// The budget left once the setup (and <paramref name="lasting"/>, a version's own state) is held, split among the
    /// buffers alive together during training — a batch's (40 %), the projection's (40 %) and the evaluation's (20 %)
    /// — after a reserve for what is not itemised: a quarter of it, and at least <see cref="UnitemisedReserve"/> (the
    /// runtime's garbage between collections and per-batch temporaries measured about 250 MiB at a 1 GiB budget).
    /// </summary>
    /// <exception cref="MemoryBudgetExceededException">The setup alone takes the budget.</exception>
    public (MemoryBudget Batch, MemoryBudget Projection, MemoryBudget Evaluation) Shares(MemoryBudget budget, long lasting = 0)
    {
        var left = budget.After($"Training on {Centers.Rows} centers", ("the centers and the data preconditioner", Bytes), ("the version's own state", lasting));
        long reserve = Math.Min(left.Bytes / 2, Math.Max(left.Bytes / 4, UnitemisedReserve));
        var rest = new MemoryBudget(left.Bytes - reserve);
        return (rest.Share(0.4), rest.Share(0.4), rest.Share(0.2));
    }

    /// <summary>The least of the budget left unitemised by <see cref="Shares"/>.</summary>
    public const long UnitemisedReserve = 320L << 20;

    /// <summary>What EigenPro 3 and 4 report about a run's setup (batch, step, spectrum, projection, notes).</summary>
    public T Settings<T>(int trainingRows, int batch, double step, int memoryBatch, CenterProjection projection,
        IReadOnlyList<string> warnings, double setupSeconds, int seed) where T : CenterModelSettings, new() => new()
    {
        Kernel = Z.Kernel.ToString(),
        TrainingRows = trainingRows,
        Centers = Centers.Rows,
        SubsampleSize = Data.SubsampleSize,
        Directions = Data.Directions,
        BatchSize = batch,
        StepSize = step,
        Eta = step * batch,
        Beta = Data.Beta,
        BetaEstimate = BetaEstimates.Name(Data.BetaEstimate),
        MaxKernelDiagonal = Data.MaxKernelDiagonal,
        TopEigenvalue = Data.Spectrum[0],
        TailEigenvalue = Data.TailEigenvalue,
        CriticalBatchSize = Data.CriticalBatchSize,
        MemoryBatchLimit = memoryBatch,
        Projection = projection.IsExact ? "exact" : "inexact",
        ProjectionSubsampleSize = projection.SubsampleSize,
        ProjectionBatchSize = projection.BatchSize,
        DataSampleInCenters = SubsampleLeadsCenters,
        Warnings = warnings,
        SetupSeconds = setupSeconds,
        Seed = seed,
    };

    /// <summary>The projection a run gets: the one asked for, or for Auto the exact one when 16·p² bytes fit the budget.</summary>
    public ProjectionMode ProjectionFor(ProjectionMode requested, MemoryBudget budget) =>
        requested != ProjectionMode.Auto ? requested
        : CenterProjection.ExactBytes(Z.Count) <= budget.Bytes ? ProjectionMode.Exact : ProjectionMode.Inexact;
}
