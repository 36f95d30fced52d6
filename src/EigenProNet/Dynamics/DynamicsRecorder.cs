using System.Diagnostics;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Data;
using EigenProNet.Models;
using EigenProNet.Networks;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Dynamics;

/// <summary>Settings of a <see cref="DynamicsRecorder"/>.</summary>
public sealed record DynamicsOptions
{
    /// <summary>Eigenvectors tracked per snapshot, k (clamped to s − 1).</summary>
    public int TrackedEigenvectors { get; init; } = 500;

    /// <summary>Leading-subspace dimensions whose distances are reported (those above k are dropped; k itself is always added).</summary>
    public IReadOnlyList<int> SubspaceDimensions { get; init; } = [10, 50, 100];

    /// <summary>A consecutive subspace distance below this counts as no change (for "change ceased at t*").</summary>
    public double CeaseTolerance { get; init; } = 1e-2;

    /// <summary>Eigenpairs of RFM's M_t stored per snapshot.</summary>
    public int FeatureEigenvectors { get; init; } = 20;

    /// <summary>
    /// Networks: the optimiser steps snapshotted inside epochs (besides every epoch's end). Null: the powers of two
    /// 1, 2, 4, … that fall inside the first <see cref="GeometricEpochs"/> epochs — the early transient.
    /// </summary>
    public IReadOnlyCollection<int>? RecordSteps { get; init; }

    /// <summary>Networks: how many epochs the default geometric step schedule spans.</summary>
    public int GeometricEpochs { get; init; } = 2;

    /// <summary>Memory budget and threads of the recorder's own kernel products.</summary>
    public MemoryBudget? Budget { get; init; }

    /// <summary>Threads and SIMD path.</summary>
    public ComputeContext? Compute { get; init; }
}

/// <summary>
/// What the recorder saw at time t (spec dynamics.md §2): the data eigensystem of the kernel in force at t on the
/// pinned subsample (eigenvalues of K_t(X_s, X_s)/s, unit eigenvectors with the stored sign convention), the residual
/// on the subsample projected onto them, the learned fraction per direction, RFM's M_t eigensystem, and the scores.
/// </summary>
/// <param name="T">EigenPro: 0 before training, then the epoch; RFM: the iteration (0 = the solve with M₀ = I).</param>
/// <param name="Eigenvalues">λ₁ ≥ … ≥ λ_k of K_t(X_s, X_s)/s.</param>
/// <param name="Eigenvectors">s × k, unit columns, each with its largest-magnitude entry positive.</param>
/// <param name="Residual">R_t = E_tᵀ(Y_s − f_t(X_s)), k × c.</param>
/// <param name="LearnedFraction">ρᵢ = 1 − ‖R_t[i]‖ / ‖E_tᵀY_s[i]‖ per direction (NaN where the targets have no component).</param>
/// <param name="KernelChanged">Whether the kernel differs from the previous snapshot's (false for EigenPro's fixed kernel).</param>
/// <param name="FeatureEigenvalues">Top eigenvalues of RFM's M_t, or null.</param>
/// <param name="FeatureEigenvectors">d × m eigenvectors of M_t, or null.</param>
/// <param name="TrainMse">Training MSE reported by the solver at t (null at t = 0 for EigenPro).</param>
/// <param name="TrainAccuracy">Training accuracy, when classification.</param>
/// <param name="ValidationMse">Validation MSE, when validation data was given.</param>
/// <param name="ValidationAccuracy">Validation accuracy.</param>
/// <param name="RecordSeconds">Time the recorder spent on this snapshot.</param>
/// <param name="Weights">A copy of the model's weights at t (what a resumed run restarts from), when kept.</param>
/// <param name="FeatureMatrix">RFM's M_t itself (d × d, or 1 × d when diagonal), what a resumed RFM run restarts from.</param>
/// <param name="Epoch">Time in epochs (networks: step / steps per epoch; EigenPro and RFM: null, <paramref name="T"/> counts).</param>
/// <param name="Kernel">The kernel matrix's own change and its alignment with the targets.</param>
/// <param name="TargetCaptured">Σ_{i≤k}‖e_iᵀY_s‖² / ‖Y_s‖²_F for k = 1 … tracked: the targets' energy in the top-k eigenvectors.</param>
/// <param name="State">What a trainer needs to resume from this snapshot besides <paramref name="Weights"/> (a network's parameters), written as state.npz; the recorder keeps it on its latest snapshot only.</param>
/// <param name="Gram">K_t(X_s, X_s)/s itself (not written per snapshot; the run keeps the start's and the latest, for resuming); the recorder keeps it on its latest snapshot only.</param>
public sealed record DynamicsSnapshot(int T, double[] Eigenvalues, Matrix Eigenvectors, Matrix Residual, double[] LearnedFraction, bool KernelChanged,
    double[]? FeatureEigenvalues, Matrix? FeatureEigenvectors, double? TrainMse, double? TrainAccuracy, double? ValidationMse,
    double? ValidationAccuracy, double RecordSeconds, Matrix? Weights = null, Matrix? FeatureMatrix = null, double? Epoch = null,
    KernelChange? Kernel = null, double[]? TargetCaptured = null, IReadOnlyDictionary<string, NpyArray>? State = null, Matrix? Gram = null)
{
    /// <summary>Time in epochs: <see cref="Epoch"/>, or <see cref="T"/> when the run counts epochs (or iterations) only.</summary>
    public double Time => Epoch ?? T;
}

/// <summary>
/// How the kernel matrix on the pinned subsample moved (Fort et al. 2020) and how it aligns with the targets
/// (Cristianini et al. 2002), at one snapshot (spec dynamics.md §3, issue 21).
/// </summary>
/// <param name="DistanceFromStart">1 − ⟨K_t, K_0⟩_F / (‖K_t‖_F‖K_0‖_F), in [0, 1] for positive semi-definite kernels; 0 for an unchanged kernel.</param>
/// <param name="DistanceFromPrevious">The same distance to the previous snapshot's kernel (0 for the first).</param>
/// <param name="TargetAlignment">⟨K_t, YYᵀ⟩_F / (‖K_t‖_F‖YYᵀ‖_F) with Y the subsample's one-hot targets.</param>
/// <param name="RelativeChangeFromStart">‖K_t − K_0‖_F / ‖K_0‖_F: the change the infinite-width theory bounds by O(1/√w), scale
/// included (the distance above sees only the shape); NaN for a run recorded before it existed.</param>
public sealed record KernelChange(double DistanceFromStart, double DistanceFromPrevious, double TargetAlignment, double RelativeChangeFromStart = double.NaN);

/// <summary>
/// Records the training-data eigenvector dynamics of one run (spec dynamics.md §2): subscribed to EigenPro 2/3/4's
/// <see cref="ITrainingObserver"/> (a snapshot before training and after every epoch) or RFM's
/// <see cref="IFeatureLearningObserver"/> (one per iteration, the kernel K_{M_t} changing with t) or a network
/// trainer's <see cref="INetworkObserver"/> (the empirical NTK Θ_t at scheduled steps and after every epoch), it sees
/// only the read-only views the trainers hand out: the current model. The data eigensystem is its own: of the kernel
/// in force, on a subsample of training rows fixed for the whole run — computed once while the kernel stays the same
/// object (EigenPro's fixed kernel cannot move it), again whenever it changes (RFM, networks).
/// </summary>
public sealed class DynamicsRecorder : ITrainingObserver, IFeatureLearningObserver, INetworkObserver
{
    private readonly Matrix _subsample, _targets;
    private readonly DynamicsOptions _options;
    private readonly MemoryBudget _budget;
    private readonly ComputeContext _compute;
    private readonly List<DynamicsSnapshot> _snapshots = [];
    private readonly Action<DynamicsSnapshot>? _onSnapshot;
    private Kernel? _kernel;
    private KernelRows? _rows;
    private double[]? _values;
    private Matrix? _vectors;
    private double[]? _targetEnergy;
    private Matrix? _gram, _startGram, _previousGram;
    private KernelChange? _kernelChange;
    private HashSet<int>? _steps;
    private NystromPreconditioner? _offered;

    /// <summary>
    /// A recorder on the subsample <paramref name="subsample"/> (s × d, scaled as the solver sees the rows) with their
    /// targets <paramref name="targets"/> (s × c). <paramref name="onSnapshot"/> runs after each snapshot (e.g. to write it).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, s &lt; 2, or k &lt; 1.</exception>
    public DynamicsRecorder(Matrix subsample, Matrix targets, DynamicsOptions? options = null, Action<DynamicsSnapshot>? onSnapshot = null)
    {
        ArgumentNullException.ThrowIfNull(subsample);
        ArgumentNullException.ThrowIfNull(targets);
        if (subsample.Rows < 2) throw new ArgumentException($"The subsample needs at least 2 rows, found {subsample.Rows}.", nameof(subsample));
        Guard.Rows(targets, subsample.Rows, nameof(targets));
        _options = options ?? new DynamicsOptions();
        if (_options.TrackedEigenvectors < 1) throw new ArgumentException($"Expected at least 1 tracked eigenvector, found {_options.TrackedEigenvectors}.", nameof(options));
        if (_options.TrackedEigenvectors > subsample.Rows - 1)
            throw new ArgumentException($"k = {_options.TrackedEigenvectors} tracked eigenvectors need a subsample of more than k rows, found s = {subsample.Rows}.", nameof(options));
        _subsample = subsample;
        _targets = targets;
        _budget = _options.Budget ?? MemoryBudget.Default;
        _compute = _options.Compute ?? ComputeContext.Default;
        _onSnapshot = onSnapshot;
    }

    /// <summary>The snapshots so far, in time order.</summary>
    public IReadOnlyList<DynamicsSnapshot> Snapshots => _snapshots;

    /// <summary>Seconds spent recording — the snapshots and what runs on each (writing the run directory): the overhead on training.</summary>
    public double RecordSeconds => _snapshots.Sum(s => s.RecordSeconds) + _callbackSeconds;

    private double _callbackSeconds;

    /// <summary>
    /// Continues a run that was interrupted: <paramref name="previous"/> are its snapshots (read back from its directory)
    /// and <paramref name="kernel"/> the kernel object the resumed solver uses when it is the same kernel as before — its
    /// data eigensystem is then the last snapshot's, not recomputed (and the fixed-kernel distances stay exactly 0);
    /// null when the kernel changes anyway (RFM, networks), which then pass <paramref name="startGram"/> and
    /// <paramref name="previousGram"/>: the kernel matrices of the first and of the last kept snapshot, for the kernel distances.
    /// </summary>
    /// <exception cref="InvalidOperationException">Snapshots were already recorded.</exception>
    public void ContinueFrom(IReadOnlyList<DynamicsSnapshot> previous, Kernel? kernel, Matrix? startGram = null, Matrix? previousGram = null)
    {
        ArgumentNullException.ThrowIfNull(previous);
        if (_snapshots.Count > 0) throw new InvalidOperationException("This recorder has already recorded snapshots.");
        if (previous.Count == 0) return;
        _snapshots.AddRange(previous);
        var last = previous[^1];
        if (kernel is null)
        {
            _startGram = startGram;
            _previousGram = previousGram;
            return;
        }
        _kernel = kernel;
        _rows = kernel.Prepare(_subsample, "dynamics subsample", _compute);
        _values = last.Eigenvalues;
        _vectors = last.Eigenvectors;
        _targetEnergy = TargetEnergy(_vectors);
        _gram = Gram(kernel);
        _startGram = _previousGram = _gram;
        _kernelChange = last.Kernel ?? new KernelChange(0, 0, Alignment(_gram), 0);
    }

    /// <summary>EigenPro: t = 0, the model before training (skipped when continuing a run that has it).</summary>
    /// <summary>
    /// EigenPro: a preconditioner built on the recorder's own rows with at least k directions already holds the top-k
    /// eigensystem of K(X_s, X_s)/s; the next snapshot of that kernel takes it instead of computing it again.
    /// </summary>
    public void OnPreconditioner(NystromPreconditioner preconditioner)
    {
        ArgumentNullException.ThrowIfNull(preconditioner);
        int k = _options.TrackedEigenvectors;
        var rows = preconditioner.Subsample.Points;
        bool same = preconditioner.Directions >= k && preconditioner.Spectrum.Count >= k && rows.Rows == _subsample.Rows && rows.Columns == _subsample.Columns;
        for (int i = 0; same && i < rows.Rows; i++) same = rows.Row(i).SequenceEqual(_subsample.Row(i));
        _offered = same ? preconditioner : null;
    }

    /// <summary>How many top-k eigensystems the recorder computed itself (the others came from a preconditioner on the same rows).</summary>
    public int EigensystemsComputed { get; private set; }

    public void OnStart(KernelModel model)
    {
        if (_snapshots.Count > 0) return;
        Record(0, model, null, null, null, null, null);
    }

    /// <summary>EigenPro: t = epoch.</summary>
    public void OnEpoch(EpochReport report, KernelModel model) =>
        Record(report.Epoch, model, null, report.TrainMse, report.TrainAccuracy, report.TestMse, report.TestAccuracy);

    /// <summary>RFM: t = iteration (0 = the solve with M₀ = I).</summary>
    public void OnIteration(RfmIteration iteration) =>
        Record(iteration.Iteration, iteration.Model, iteration.M, iteration.Report.TrainMse, iteration.Report.TrainAccuracy,
            iteration.Report.ValidationMse, iteration.Report.ValidationAccuracy);

    private int _batchesPerEpoch;

    /// <summary>Network: t = the step (0 before training); the step schedule is fixed here, once the steps per epoch are known.</summary>
    public void OnStart(ReluNetwork network, int batchesPerEpoch, int firstStep)
    {
        _batchesPerEpoch = batchesPerEpoch;
        _steps = _options.RecordSteps is { } steps ? [.. steps] : GeometricSteps(batchesPerEpoch, _options.GeometricEpochs);
        if (_snapshots.Count > 0) return;
        RecordNetwork(firstStep, network, null, null, null, null, null);
    }

    /// <summary>Network: a snapshot when the step is scheduled (an epoch's last step is recorded by <see cref="OnEpoch(EpochReport, int, NetworkCheckpoint)"/>).</summary>
    public void OnStep(NetworkStep step, ReluNetwork network)
    {
        if (step.Batch == step.BatchesPerEpoch || _steps is null || !_steps.Contains(step.Step)) return;
        RecordNetwork(step.Step, network, null, null, null, null, null);
    }

    /// <summary>Network: the end of an epoch, with the checkpoint a resumed run restarts from.</summary>
    public void OnEpoch(EpochReport report, int step, NetworkCheckpoint checkpoint) =>
        RecordNetwork(step, checkpoint.Network, checkpoint.ToArrays(), report.TrainMse, report.TrainAccuracy, report.TestMse, report.TestAccuracy);

    /// <summary>Steps 1, 2, 4, … below <paramref name="epochs"/> epochs of <paramref name="batchesPerEpoch"/> steps.</summary>
    public static HashSet<int> GeometricSteps(int batchesPerEpoch, int epochs)
    {
        var steps = new HashSet<int>();
        for (long step = 1; step < (long)batchesPerEpoch * epochs; step *= 2) steps.Add((int)step);
        return steps;
    }

    private void RecordNetwork(int step, ReluNetwork network, IReadOnlyDictionary<string, NpyArray>? state, double? trainMse, double? trainAccuracy,
        double? validationMse, double? validationAccuracy)
    {
        var clock = Stopwatch.StartNew();
        var gram = EmpiricalNtk.Compute(network, _subsample, _compute);
        System.Numerics.Tensors.TensorPrimitives.Multiply(gram.Data, 1f / _subsample.Rows, gram.Data);
        if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(gram.Data))
            throw new ArithmeticException($"The network's empirical NTK at step {step} overflowed (training diverged); use a smaller learning rate.");
        Eigensystem(gram);
        var predictions = network.Predict(_subsample, _compute);
        double epoch = _batchesPerEpoch > 0 ? (double)step / _batchesPerEpoch : step;
        Complete(step, epoch, predictions, _snapshots.Count > 0, null, trainMse, trainAccuracy, validationMse, validationAccuracy, clock, null, state);
    }

    private void Record(int t, KernelModel model, Matrix? m, double? trainMse, double? trainAccuracy, double? validationMse, double? validationAccuracy)
    {
        var clock = Stopwatch.StartNew();
        bool changed = !ReferenceEquals(model.Kernel, _kernel);
        if (changed)
        {
            _kernel = model.Kernel;
            _rows = model.Kernel.Prepare(_subsample, "dynamics subsample", _compute);
            // The preconditioner's eigensystem when it is of this kernel on these rows (EigenPro 3/4 on the pinned sample).
            var offered = _offered is { } o && ReferenceEquals(o.Kernel, model.Kernel) ? o : null;
            _offered = null;
            Eigensystem(Gram(model.Kernel), offered);
        }
        else _kernelChange = _kernelChange! with { DistanceFromPrevious = 0 };
        var predictions = model.PredictScaled(_rows!, _budget, default, _compute);
        Complete(t, null, predictions, changed && _snapshots.Count > 0, m, trainMse, trainAccuracy, validationMse, validationAccuracy, clock,
            model.Weights.Clone(), null);
    }

    /// <summary>The snapshot of the eigensystem in force and of <paramref name="predictions"/> on the subsample.</summary>
    private void Complete(int t, double? epoch, Matrix predictions, bool changed, Matrix? m, double? trainMse, double? trainAccuracy,
        double? validationMse, double? validationAccuracy, Stopwatch clock, Matrix? weights, IReadOnlyDictionary<string, NpyArray>? state)
    {
        var vectors = _vectors!;
        // Residual on the subsample, projected onto the eigenvectors: R = Eᵀ(Y_s − f_t(X_s)).
        var residual = _targets.Clone();
        System.Numerics.Tensors.TensorPrimitives.Subtract(residual.Data, predictions.Data, residual.Data);
        var projected = Gemm.Multiply(vectors, residual, Transpose.Yes, Transpose.No, _compute);
        var learned = new double[projected.Rows];
        for (int i = 0; i < learned.Length; i++)
        {
            double norm = Math.Sqrt(Sum2(projected.Row(i)));
            learned[i] = _targetEnergy![i] > 0 ? 1 - norm / _targetEnergy[i] : double.NaN;
        }
        var captured = EigenvectorChange.TargetCaptured(vectors, _targets, _compute);
        double[]? mValues = null;
        Matrix? mVectors = null;
        if (m is not null) (mValues, mVectors) = FeatureEigensystem(m);
        var snapshot = new DynamicsSnapshot(t, _values!, vectors, projected, learned, changed, mValues, mVectors,
            trainMse, trainAccuracy, validationMse, validationAccuracy, clock.Elapsed.TotalSeconds, weights, m?.Clone(), epoch, _kernelChange,
            captured, state, _gram);
        // Only the latest snapshot keeps its resume state and kernel matrix (the run writer has them on disk): a network's
        // parameters at every epoch would outweigh the rest of the run (depth 5, width 4 096: 320 MB an epoch).
        if (_snapshots.Count > 0 && (_snapshots[^1].State is not null || _snapshots[^1].Gram is not null))
            _snapshots[^1] = _snapshots[^1] with { State = null, Gram = null };
        _snapshots.Add(snapshot);
        var callback = Stopwatch.StartNew();
        _onSnapshot?.Invoke(snapshot);
        _callbackSeconds += callback.Elapsed.TotalSeconds;
    }

    /// <summary>K(X_s, X_s)/s, exactly symmetric.</summary>
    private Matrix Gram(Kernel kernel)
    {
        int s = _subsample.Rows;
        var gram = new Matrix(s, s);
        kernel.EvaluateSymmetric(_rows!, gram, _compute);
        System.Numerics.Tensors.TensorPrimitives.Multiply(gram.Data, 1f / s, gram.Data);
        return gram;
    }

    /// <summary>The eigensystem and the kernel metrics of a new kernel matrix (K_t(X_s, X_s)/s).</summary>
    private void Eigensystem(Matrix gram, NystromPreconditioner? computed = null)
    {
        int k = _options.TrackedEigenvectors;
        if (computed is not null)
        {
            // The same matrix (EvaluateSymmetric on the same rows, divided by s) whose top pairs the preconditioner kept.
            _values = computed.Spectrum.Take(k).ToArray();
            _vectors = EigenvectorChange.WithSignConvention(computed.Eigenvectors.View.Block(0, 0, computed.Eigenvectors.Rows, k).ToMatrix());
        }
        else
        {
            var eig = SymmetricEigen.Top(gram, k, context: _compute);
            EigensystemsComputed++;
            _values = eig.Values;
            _vectors = EigenvectorChange.WithSignConvention(eig.Vectors);
        }
        _targetEnergy = TargetEnergy(_vectors);
        _startGram ??= gram;
        _kernelChange = new KernelChange(KernelDistance(gram, _startGram), _previousGram is null ? 0 : KernelDistance(gram, _previousGram), Alignment(gram),
            RelativeChange(gram, _startGram));
        _previousGram = gram;
        _gram = gram;
    }

    /// <summary>1 − ⟨A, B⟩_F / (‖A‖_F‖B‖_F) in float64 (exactly 0 for the same matrix).</summary>
    public static double KernelDistance(Matrix a, Matrix b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Guard.SameShape(a, b, nameof(b));
        if (ReferenceEquals(a, b)) return 0;
        double ab = 0, aa = 0, bb = 0;
        var x = a.Data;
        var y = b.Data;
        for (int i = 0; i < x.Length; i++) { ab += (double)x[i] * y[i]; aa += (double)x[i] * x[i]; bb += (double)y[i] * y[i]; }
        return aa > 0 && bb > 0 ? Math.Max(0, 1 - ab / Math.Sqrt(aa * bb)) : double.NaN;
    }

    /// <summary>‖A − B‖_F / ‖B‖_F in float64 (exactly 0 for the same matrix; NaN when B is 0).</summary>
    public static double RelativeChange(Matrix a, Matrix b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Guard.SameShape(a, b, nameof(b));
        if (ReferenceEquals(a, b)) return 0;
        double diff = 0, bb = 0;
        var x = a.Data;
        var y = b.Data;
        for (int i = 0; i < x.Length; i++) { double d = (double)x[i] - y[i]; diff += d * d; bb += (double)y[i] * y[i]; }
        return bb > 0 ? Math.Sqrt(diff / bb) : double.NaN;
    }

    /// <summary>⟨K, YYᵀ⟩_F / (‖K‖_F‖YYᵀ‖_F) = Σ_c y_cᵀKy_c / (‖K‖_F‖YᵀY‖_F).</summary>
    private double Alignment(Matrix gram)
    {
        var ky = Gemm.Multiply(gram, _targets, context: _compute);
        double yky = 0, kk = 0;
        for (int i = 0; i < ky.Data.Length; i++) yky += (double)ky.Data[i] * _targets.Data[i];
        foreach (float v in gram.Data) kk += (double)v * v;
        var yty = Gemm.Multiply(_targets, _targets, Transpose.Yes, Transpose.No, _compute);
        double yy = Math.Sqrt(Sum2(yty.Data));
        return kk > 0 && yy > 0 ? yky / (Math.Sqrt(kk) * yy) : double.NaN;
    }

    /// <summary>‖EᵢᵀY_s‖ per direction: what there is to learn along each.</summary>
    private double[] TargetEnergy(Matrix vectors)
    {
        var targetsProjected = Gemm.Multiply(vectors, _targets, Transpose.Yes, Transpose.No, _compute);
        var energy = new double[vectors.Columns];
        for (int i = 0; i < energy.Length; i++) energy[i] = Math.Sqrt(Sum2(targetsProjected.Row(i)));
        return energy;
    }

    private (double[] Values, Matrix Vectors) FeatureEigensystem(Matrix m)
    {
        int count = Math.Min(_options.FeatureEigenvectors, m.Columns);
        if (m.Rows == 1)
        {
            // A diagonal M: its entries, largest first, with unit coordinate vectors.
            var order = Enumerable.Range(0, m.Columns).OrderByDescending(i => m[0, i]).Take(count).ToArray();
            var vectors = new Matrix(m.Columns, count);
            for (int j = 0; j < count; j++) vectors[order[j], j] = 1f;
            return (order.Select(i => (double)m[0, i]).ToArray(), vectors);
        }
        var eig = SymmetricEigen.Top(m, count, context: _compute);
        return (eig.Values, EigenvectorChange.WithSignConvention(eig.Vectors));
    }

    private static double Sum2(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (float x in v) s += (double)x * x;
        return s;
    }
}
