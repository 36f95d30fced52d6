using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>How EigenPro 3 projects each preconditioned step onto span{k(z_j, ·)} (spec eigenpro.md §2.5).</summary>
public enum ProjectionMode
{
    /// <summary>Exact when the p × p centers matrix and its float64 factor fit the memory budget, else inexact.</summary>
    Auto,
    /// <summary>θ = K(Z, Z)⁻¹·h from a Cholesky factor of K(Z, Z) computed once: nearly free per batch.</summary>
    Exact,
    /// <summary>The reference's: EigenPro 2 epochs over the centers with their own preconditioner, from θ = 0 each time.</summary>
    Inexact,
}

/// <summary>Settings of <see cref="EigenPro3"/> (spec eigenpro.md §2; every null is chosen automatically).</summary>
public sealed record EigenPro3Options : CenterModelOptions
{
    /// <summary>Options with the reference's defaults (data sample 5 000, level 500) and β from the preconditioned kernel's diagonal.</summary>
    public EigenPro3Options()
    {
        DataSubsampleSize = 5000;
        DataLevel = 500;
        Beta = BetaEstimate.PreconditionedDiagonal;
    }

    /// <summary>Nyström sample of the centers for the inexact projection (default min(p, 2000), 10 000 from p = 100 000).</summary>
    public int? ProjectionSubsampleSize { get; init; }

    /// <summary>EigenPro 2 epochs over the centers per inexact projection (the reference's 2).</summary>
    public int ProjectionEpochs { get; init; } = 2;
}

/// <summary>
/// EigenPro 3 (Abedsoltan, Belkin, Pandit, ICML 2023; spec eigenpro.md §2): a kernel model f(x) = Σ_j α_j k(x, z_j)
/// whose p centers Z are decoupled from the n training points, trained by projected, preconditioned SGD towards the
/// least-squares projected solution argmin ‖K(X, Z)·α − Y‖². Per batch B: G = K(X_B, Z)·α − Y_B,
/// h = K(Z, X_B)·G − K(Z, S)·U·diag(r)·Uᵀ·K(S, X_B)·G, θ = K(Z, Z)⁻¹·h (the projection), α −= η·θ.
/// </summary>
public sealed class EigenPro3 : CenterModelSolver
{
    /// <summary>Creates the solver.</summary>
    public EigenPro3(Kernel kernel, EigenPro3Options? options = null) : base(kernel, "EigenPro 3") =>
        Options = options ?? new EigenPro3Options();

    /// <summary>The data preconditioner's rule (§2.3): batch int(β/λ_tail), step 1/(2β) per sample.</summary>
    public static StepRule DataStepRule { get; } = new ConstantStepRule(0.5);

    /// <summary>The inexact projection's rule (§2.5): half EigenPro 2's step in either regime.</summary>
    public static StepRule ProjectionStepRule { get; } = new TopEigenvalueStepRule(0.5);

    /// <summary>The settings.</summary>
    public EigenPro3Options Options { get; }

    /// <summary>Bytes of the exact projection: K(Z, Z) in float32 and its factor in float32 and float64.</summary>
    public static long ExactProjectionBytes(int p) => CenterProjection.ExactBytes(p);

    private protected override CenterModelOptions CenterOptions => Options;

    private protected override CenterStepStrategy Strategy() => new ProjectEveryBatch(Options);

    /// <summary>§2.4: every batch's preconditioned step is projected onto the centers' span before α moves.</summary>
    internal sealed class ProjectEveryBatch(EigenPro3Options o) : CenterStepStrategy
    {
        public override StepRule DataStepRule => EigenPro3.DataStepRule;

        public override void CheckOptions()
        {
            if (o.ProjectionEpochs < 1) throw new ArgumentException($"Projection epochs must be at least 1, found {o.ProjectionEpochs}.", nameof(Options));
        }

        public override long BytesPerRow(CenterModelData data, int dimension, int outputs) =>
            Step.BytesPerRow(data.Centers.Rows, data.Data.SubsampleSize, data.SubsampleLeadsCenters, dimension, outputs);

        public override int Batch(CenterModelData data, int n, int memoryBatch, List<string> warnings)
        {
            // The reference's int(β/λ_tail) can exceed n (one full-batch step per "epoch"): capped by n and memory.
            int critical = data.Data.CriticalBatchSize;
            int batch = o.BatchSize ?? Math.Min(Math.Min(critical, n), memoryBatch);
            if (o.BatchSize is null && critical > batch)
                warnings.Add($"batch size int(β/λ_tail) = {critical} capped to {batch} ({(critical > n ? "the training rows" : "the memory budget")})");
            return batch;
        }

        public override CenterProjection Projector(CenterModelData data, int outputs, MemoryBudget budget, ComputeContext compute, CancellationToken ct) =>
            EigenPro3.Projector(data, o, outputs, budget, compute, ct);

        public override CenterModelSettings Settings(CenterModelData data, int n, int batch, double step, int memoryBatch, CenterProjection projection,
            IReadOnlyList<string> warnings, double setupSeconds, int seed) =>
            data.Settings<EigenPro3Settings>(n, batch, step, memoryBatch, projection, warnings, setupSeconds, seed);

        public override CenterRun Start(CenterModelData data, Matrix y, CenterProjection projection, int batch, int outputs, double step,
            ComputeContext compute, CancellationToken ct) => o.Shards is { } shards
            ? new Sharding.ShardedCenterRun(data, y, projection, batch, outputs, step, shards, compute, ct)
            : new Run(new Step(data.Z.Kernel, data.Points, y, data.Z, data.Data, data.LiftAtCenters, projection, batch, outputs, data.SubsampleLeadsCenters, compute),
                projection, new Matrix(data.Centers.Rows, outputs), (float)step, ct);
    }

    private sealed class Run(Step step, CenterProjection projection, Matrix weights, float stepSize, CancellationToken ct) : CenterRun
    {
        public override Matrix Weights => weights;

        public override bool Step(ReadOnlySpan<int> ids, int batchIndex, int batchCount)
        {
            step.Run(ids, weights, stepSize, ct);
            return true;
        }

        public override void Replay(int batchIndex, int batchCount) => projection.Skip(1);
    }

    /// <summary>
    /// Projection (§2.5): exact by a Cholesky factor of K(Z, Z) when it fits, else EigenPro 2 over the centers with
    /// their own preconditioner (s_z centers, EigenPro 2's automatic q and damping, half its step in the linear regime).
    /// </summary>
    internal static CenterProjection Projector(CenterModelData data, EigenPro3Options o, int c, MemoryBudget budget, ComputeContext compute,
        CancellationToken cancellationToken)
    {
        int p = data.Z.Count;
        return data.ProjectionFor(o.Projection, budget) == ProjectionMode.Exact
            ? CenterProjection.Exact(data.Z, budget, compute)
            : CenterProjection.Inexact(data.Z, new NystromOptions
            {
                SubsampleSize = Math.Min(p, o.ProjectionSubsampleSize ?? (p < 100_000 ? 2000 : 10_000)),
                DampingExponent = 0.95, StepRule = ProjectionStepRule, Seed = SeedStreams.Derive(o.Seed, SeedStreams.ProjectionPreconditioner),
            }, o.ProjectionEpochs, null, c, o.Seed, budget, compute, cancellationToken);
    }

    /// <summary>One outer step of §2.4 with its buffers, allocated once for the largest batch.</summary>
    internal sealed class Step(Kernel kernel, TrainingRows? points, Matrix? y, KernelRows z, NystromPreconditioner pre, Matrix liftAtCenters,
        CenterProjection projector, int batch, int c, bool subsampleLeadsCenters, ComputeContext compute)
    {
        /// <summary>
        /// Bytes a step holds per batch row — the buffers below: the gathered features X_b with their row statistic, Y_b,
        /// K(X_b, Z), K(X_b, S) (unless S leads the centers) and the residual G — what a memory budget is checked against.
        /// </summary>
        public static long BytesPerRow(int centers, int subsample, bool subsampleLeadsCenters, int dimension, int outputs) =>
            4L * (dimension + 1 + outputs + centers + (subsampleLeadsCenters ? 0 : subsample) + outputs);

        private readonly KernelRowsBuffer _xb = new(batch, z.Dimension);
        private readonly Matrix _yb = new(batch, c);
        private readonly Matrix _kbz = new(batch, z.Count);
        private readonly Matrix? _kbs = subsampleLeadsCenters ? null : new(batch, pre.SubsampleSize);
        private readonly Matrix _g = new(batch, c), _h = new(z.Count, c), _projected = new(pre.Directions, c), _scratch = new(pre.SubsampleSize, c);

        /// <summary>The step on the training rows <paramref name="ids"/>.</summary>
        public void Run(ReadOnlySpan<int> ids, Matrix weights, float step, CancellationToken ct)
        {
            var rows = points!.Batch(ids, _xb, compute);
            var yb = _yb.View.RowBlock(0, ids.Length);
            for (int i = 0; i < ids.Length; i++) y!.Row(ids[i]).CopyTo(yb.Row(i));
            Run(rows, yb, weights, step, ct);
        }

        /// <summary>The step on a batch given as prepared rows and their targets.</summary>
        public void Run(KernelRows rows, MatrixView yb, Matrix weights, float step, CancellationToken ct)
        {
            int m = rows.Count;
            if (m > batch) throw new ArgumentException($"A batch of {m} rows exceeds the {batch} this step was sized for.", nameof(rows));
            var kbz = _kbz.RowBlock(0, m);
            kernel.Evaluate(rows, z, kbz, compute);                                              // K(X_B, Z)
            var g = _g.RowBlock(0, m);
            Gemm.Compute(Transpose.No, Transpose.No, 1f, kbz, weights, 0f, g, compute);         // G = K(X_B, Z)·α − Y_B
            for (int i = 0; i < m; i++) System.Numerics.Tensors.TensorPrimitives.Subtract(g.Row(i), yb.Row(i), g.Row(i));
            Gemm.Compute(Transpose.Yes, Transpose.No, 1f, kbz, g, 0f, _h, compute);             // h = K(Z, X_B)·G …
            if (pre.Directions > 0)
            {
                // K(X_B, S): the first s columns of K(X_B, Z) when S leads the centers, else its own block.
                MatrixView kbs;
                if (_kbs is null) kbs = kbz.Block(0, 0, m, pre.SubsampleSize);
                else
                {
                    kbs = _kbs.RowBlock(0, m);
                    kernel.Evaluate(rows, pre.Subsample, kbs, compute);
                }
                pre.Project(kbs, g, _projected, _scratch);                                     // … − K(Z, S)·U·diag(r)·Uᵀ·K(S, X_B)·G
                Gemm.Compute(Transpose.No, Transpose.No, -1f, liftAtCenters, _projected, 1f, _h, compute);
            }
            var theta = projector.Project(_h, ct);                                             // θ ≈ K(Z, Z)⁻¹·h
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(theta.AsSpan(), -step, weights.AsSpan(), weights.AsSpan());
        }
    }
}
