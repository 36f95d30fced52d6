using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Networks;
using EigenProNet.Solvers;

namespace EigenProNet.Dynamics;

/// <summary>The training rows a study watches: s rows pinned for the whole run, with their features and targets.</summary>
/// <param name="Indices">Row indices into the training set, ascending.</param>
/// <param name="Rows">Their features (s × d), scaled as the trainer sees them.</param>
/// <param name="Targets">Their targets (s × c).</param>
public sealed record PinnedSubsample(int[] Indices, Matrix Rows, Matrix Targets)
{
    /// <summary>
    /// Draws s rows of <paramref name="train"/> from <paramref name="seed"/>: draw 0 is a run's pinned subsample, draw i ≥ 1
    /// the resample protocol's i-th model's own sample.
    /// </summary>
    /// <exception cref="ArgumentException">s &lt; 2 or larger than the training set.</exception>
    public static PinnedSubsample Draw(Dataset train, int size, int seed, int draw = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (size < 2) throw new ArgumentException($"A subsample needs at least 2 rows, found {size}.", nameof(size));
        if (size > train.Count) throw new ArgumentException($"A subsample of {size} rows is larger than the {train.Count} training rows.", nameof(size));
        var indices = Preprocessing.Permutation(train.Count, SeedStreams.Create(seed, SeedStreams.StudySubsample, draw))[..size];
        Array.Sort(indices);
        return Of(train, indices);
    }

    /// <summary>The rows <paramref name="indices"/> of <paramref name="train"/>.</summary>
    public static PinnedSubsample Of(Dataset train, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(indices);
        var y = train.TargetMatrix();
        var rows = new Matrix(indices.Length, train.Dimension);
        var targets = new Matrix(indices.Length, y.Columns);
        for (int i = 0; i < indices.Length; i++)
        {
            train.Features.Row(indices[i]).CopyTo(rows.Row(i));
            y.Row(indices[i]).CopyTo(targets.Row(i));
        }
        return new PinnedSubsample(indices, rows, targets);
    }
}

/// <summary>Where an interrupted study continues: its directory and the snapshot training restarts from.</summary>
public sealed record DynamicsResumePoint(string Directory, DynamicsSnapshot Snapshot);

/// <summary>How a trainer continues an interrupted study.</summary>
public enum DynamicsResumeMode
{
    /// <summary>From the last snapshot's weights (EigenPro): the run goes on after it.</summary>
    AfterLast,
    /// <summary>The last step is redone from its saved state (RFM's iteration from M_t), which records that snapshot again.</summary>
    RedoLast,
    /// <summary>From the last snapshot that saved a state (a network's epoch end); later snapshots are recorded again.</summary>
    LastState,
}

/// <summary>
/// What a <see cref="DynamicsStudy"/> trains: a function that fits a model with the recorder subscribed as its observer
/// (continuing from a resume point when given) and returns the training seconds — one per kind of trainer
/// (<see cref="ForSolver"/>, <see cref="ForRfm"/>, <see cref="ForNetwork"/>), so a new trainer is one more factory.
/// </summary>
/// <param name="Train">Trains with the recorder subscribed; returns the seconds of training (recording excluded).</param>
/// <param name="LengthSettings">Settings a resumed run may change (its length: "epochs", "iterations").</param>
/// <param name="ResumeMode">How it continues an interrupted run.</param>
/// <param name="FixedKernel">The kernel object when it cannot change (its eigensystem is not recomputed on resume).</param>
/// <param name="ResumeKernel">For <see cref="DynamicsResumeMode.LastState"/>: the kernel matrix K(X_s, X_s)/s at the resume point.</param>
public sealed record DynamicsTrainer(
    Func<DynamicsRecorder, DynamicsResumePoint?, IProgress<TrainingProgress>?, CancellationToken, double> Train,
    IReadOnlyCollection<string> LengthSettings,
    DynamicsResumeMode ResumeMode = DynamicsResumeMode.AfterLast,
    Kernel? FixedKernel = null,
    Func<DynamicsResumePoint, PinnedSubsample, Matrix>? ResumeKernel = null)
{
    /// <summary>
    /// A kernel solver (EigenPro 3/4) built per call by <paramref name="solver"/> — given the checkpoint to resume from,
    /// null for a fresh run — trained on <paramref name="train"/> and scored on <paramref name="test"/> every epoch.
    /// </summary>
    public static DynamicsTrainer ForSolver(Func<TrainingCheckpoint?, IKernelSolver> solver, Kernel kernel, Dataset train, Dataset? test) =>
        new((recorder, resume, progress, token) =>
        {
            TrainingCheckpoint? from = null;
            if (resume is not null)
                from = new TrainingCheckpoint(resume.Snapshot.T, resume.Snapshot.Weights ?? throw new IOException($"snapshot t = {resume.Snapshot.T} has no weights.npy to resume from."));
            return solver(from).Fit(train, test, progress, recorder, token).Epochs.Sum(e => e.Seconds);
        }, ["epochs"], DynamicsResumeMode.AfterLast, kernel);

    /// <summary>A Recursive Feature Machine; a resumed run redoes its last iteration from the saved M_t.</summary>
    public static DynamicsTrainer ForRfm(RecursiveFeatureMachineOptions options, Dataset train, Dataset? test) =>
        new((recorder, resume, progress, token) =>
        {
            var o = options;
            if (resume is { Snapshot: var last })
            {
                o = options with
                {
                    FirstIteration = last.T,
                    Iterations = Math.Max(0, options.Iterations - last.T),
                    InitialM = last.FeatureMatrix ?? throw new IOException($"snapshot t = {last.T} has no m.npy to resume from."),
                };
                if (o.Iterations == 0)
                    throw new ArgumentException($"The run already has iteration t = {last.T}; {options.Iterations} iterations ask for no more.");
            }
            return new RecursiveFeatureMachine(o).Fit(train, test, progress, recorder, token).Iterations.Sum(r => r.SolveSeconds + r.AgopSeconds);
        }, ["iterations"], DynamicsResumeMode.RedoLast);

    /// <summary>A <see cref="ReluNetwork"/> trained by <see cref="NetworkTrainer"/>; a resumed run continues from the last epoch's checkpoint.</summary>
    public static DynamicsTrainer ForNetwork(NetworkTrainerOptions options, Dataset train, Dataset? test) =>
        new((recorder, resume, progress, token) =>
        {
            var o = options;
            if (resume is not null)
            {
                var checkpoint = Checkpoint(resume, options, train);
                if (checkpoint.Epoch >= options.Epochs)
                    throw new ArgumentException($"The run already has epoch {checkpoint.Epoch}; {options.Epochs} epochs ask for no more.", "epochs");
                o = options with { ResumeFrom = checkpoint };
            }
            return new NetworkTrainer(o).Fit(train, test, progress, recorder, token).Epochs.Sum(e => e.Seconds);
        }, ["epochs"], DynamicsResumeMode.LastState, null, (resume, subsample) =>
        {
            var gram = EmpiricalNtk.Compute(Checkpoint(resume, options, train).Network, subsample.Rows, options.Compute);
            System.Numerics.Tensors.TensorPrimitives.Multiply(gram.Data, 1f / subsample.Rows.Rows, gram.Data);
            return gram;
        });

    /// <summary>The state saved with the resume point's snapshot, which must be the network the study trains, at that snapshot's epoch.</summary>
    /// <exception cref="DataFormatException">No state, a corrupt one, or one of another network or epoch than the run records.</exception>
    private static NetworkCheckpoint Checkpoint(DynamicsResumePoint resume, NetworkTrainerOptions options, Dataset train)
    {
        string source = $"{resume.Directory} snapshot t = {resume.Snapshot.T}";
        var checkpoint = NetworkCheckpoint.FromArrays(DynamicsRun.ReadState(resume.Directory, resume.Snapshot.T), source);
        var net = checkpoint.Network;
        if (net.Inputs != train.Dimension || net.Outputs != train.OutputCount || net.Width != options.Width || net.Depth != options.Depth
            || net.BiasScale != options.BiasScale)
            throw new DataFormatException($"{source}: the saved {net} is not the study's network (width {options.Width}, depth {options.Depth}, {train.Dimension} features, {train.OutputCount} outputs).");
        if (resume.Snapshot.Epoch is double epoch && epoch != checkpoint.Epoch)
            throw new DataFormatException($"{source}: the saved state is of epoch {checkpoint.Epoch}, the snapshot of epoch {epoch}.");
        return checkpoint;
    }
}

/// <summary>What a study produced (its directory holds the same, on disk).</summary>
public sealed record DynamicsStudyResult(string Directory, IReadOnlyList<DynamicsSnapshot> Snapshots, DynamicsMetrics Metrics, string Finding,
    double TrainingSeconds, double RecordSeconds, double TotalSeconds, bool Resampled);

/// <summary>
/// A dynamics study (spec dynamics.md §4–5): one trainer watched by a <see cref="DynamicsRecorder"/> on a pinned
/// subsample, every snapshot written to a run directory as it comes (resumable), the metrics and the finding at the
/// end — the in-run protocol (<see cref="Run"/>) or the original study's resample protocol (<see cref="RunResample"/>).
/// </summary>
public sealed class DynamicsStudy
{
    private readonly IReadOnlyDictionary<string, object?> _settings;
    private readonly DynamicsOptions _options;

    /// <summary>A study described by <paramref name="settings"/> (written to run.json; a resumed run must repeat them).</summary>
    public DynamicsStudy(IReadOnlyDictionary<string, object?> settings, DynamicsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _options = options ?? new DynamicsOptions();
    }

    /// <summary>
    /// Trains with the recorder on <paramref name="subsample"/>, writing the run into <paramref name="directory"/> —
    /// which must be new or empty unless <paramref name="overwrite"/>, or hold a run of the same settings to continue
    /// when <paramref name="resume"/>.
    /// </summary>
    /// <exception cref="IOException">The directory holds a run (without overwrite), or another run's settings (on resume).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the directory keeps every snapshot completed before.</exception>
    public DynamicsStudyResult Run(string directory, PinnedSubsample subsample, DynamicsTrainer trainer, bool overwrite = false, bool resume = false,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subsample);
        ArgumentNullException.ThrowIfNull(trainer);
        if (resume && overwrite) throw new ArgumentException("Resume the run or replace it, not both.", nameof(resume));
        var total = Stopwatch.StartNew();
        DynamicsRunWriter writer;
        IReadOnlyList<DynamicsSnapshot>? kept = null;
        DynamicsResumePoint? point = null;
        Matrix? startGram = null, previousGram = null;
        if (resume)
        {
            writer = DynamicsRunWriter.Continue(directory, _settings, subsample.Indices, _options, trainer.LengthSettings, trainer.FixedKernel is null);
            var previous = DynamicsRun.Read(directory).Snapshots;
            switch (trainer.ResumeMode)
            {
                case DynamicsResumeMode.AfterLast:
                    kept = previous;
                    point = new DynamicsResumePoint(directory, previous[^1]);
                    break;
                case DynamicsResumeMode.RedoLast:
                    // The last step is redone from its saved state and records that snapshot again.
                    kept = previous.Take(previous.Count - 1).ToArray();
                    point = new DynamicsResumePoint(directory, previous[^1]);
                    previousGram = DynamicsRun.ReadKernel(directory, kept.Count > 0 ? DynamicsRunWriter.PreviousKernelFile : DynamicsRunWriter.StartKernelFile);
                    break;
                default:
                    int at = -1;
                    for (int i = previous.Count - 1; i >= 0 && at < 0; i--)
                        if (File.Exists(Path.Combine(directory, "snapshots", $"t{previous[i].T:D3}", DynamicsRunWriter.StateFile))) at = i;
                    if (at < 0) throw new IOException($"{directory}: no snapshot saved a state to resume from (no epoch was completed); start the run again.");
                    kept = previous.Take(at + 1).ToArray();
                    point = new DynamicsResumePoint(directory, previous[at]);
                    previousGram = trainer.ResumeKernel?.Invoke(point, subsample);
                    break;
            }
            startGram = DynamicsRun.ReadKernel(directory, DynamicsRunWriter.StartKernelFile);
            CheckResumeShapes(directory, kept, subsample, startGram, previousGram);
            if (trainer.FixedKernel is null && (startGram is null || (kept.Count > 0 && previousGram is null)))
                throw new IOException($"{directory}: the kernel matrices a resumed run needs ({DynamicsRunWriter.StartKernelFile}, {DynamicsRunWriter.LastKernelFile}) are missing; start the run again.");
        }
        else writer = new DynamicsRunWriter(directory, _settings, subsample.Indices, _options, overwrite) { KeepKernels = trainer.FixedKernel is null };
        DynamicsRecorder? recorder = null;
        recorder = new DynamicsRecorder(subsample.Rows, subsample.Targets, _options, snapshot => writer.Write(snapshot, recorder!.Snapshots));
        if (kept is not null) recorder.ContinueFrom(kept, trainer.FixedKernel, startGram, previousGram);
        double trainingSeconds = trainer.Train(recorder, point, progress, cancellationToken);
        return Finish(directory, writer, recorder.Snapshots, recorder.RecordSeconds, trainingSeconds, total, resampled: false);
    }

    /// <summary>The snapshots and kernel matrices read back must be of this study's subsample (m rows, c targets).</summary>
    private static void CheckResumeShapes(string directory, IReadOnlyList<DynamicsSnapshot> kept, PinnedSubsample subsample, Matrix? startGram, Matrix? previousGram)
    {
        int m = subsample.Rows.Rows, c = subsample.Targets.Columns;
        foreach (var s in kept)
            if (s.Eigenvectors.Rows != m || s.Residual.Columns != c || s.Eigenvectors.Columns > m)
                throw new DataFormatException($"{directory}: snapshot t = {s.T} has {s.Eigenvectors.Rows}×{s.Eigenvectors.Columns} eigenvectors and {s.Residual.Columns} target columns; the study's subsample has {m} rows and {c} targets.");
        foreach (var (gram, name) in new[] { (startGram, DynamicsRunWriter.StartKernelFile), (previousGram, "the previous kernel matrix") })
            if (gram is not null && (gram.Rows != m || gram.Columns != m))
                throw new DataFormatException($"{directory}: {name} is {gram.Rows}×{gram.Columns}, expected {m}×{m} (the pinned subsample).");
    }

    /// <summary>
    /// The original study's protocol: for each epoch budget a fresh model — <paramref name="trainModel"/>(budget, model
    /// seed, its own Nyström sample, a recorder on that sample, progress, token) returns its training seconds — whose
    /// final state is the snapshot labelled t = budget.
    /// </summary>
    public DynamicsStudyResult RunResample(string directory, Dataset train, int subsampleSize, int seed, IReadOnlyList<int> budgets,
        Func<int, int, int[], DynamicsRecorder, IProgress<TrainingProgress>?, CancellationToken, double> trainModel, bool overwrite = false,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        ArgumentNullException.ThrowIfNull(trainModel);
        if (budgets.Count == 0) throw new ArgumentException("Give at least one epoch budget.", nameof(budgets));
        var total = Stopwatch.StartNew();
        var samples = budgets.Select((_, i) => PinnedSubsample.Draw(train, subsampleSize, seed, i + 1)).ToArray();
        var writer = new DynamicsRunWriter(directory, _settings, samples[0].Indices, _options, overwrite) { KeepKernels = false };
        var snapshots = new List<DynamicsSnapshot>();
        double trainingSeconds = 0, recordSeconds = 0;
        for (int i = 0; i < budgets.Count; i++)
        {
            var recorder = new DynamicsRecorder(samples[i].Rows, samples[i].Targets, _options);
            int b = budgets[i];
            trainingSeconds += trainModel(b, SeedStreams.Derive(seed, SeedStreams.ResampleModel, i + 1), samples[i].Indices, recorder, progress, cancellationToken);
            recordSeconds += recorder.RecordSeconds;
            // The model's state after its budget, on its own Nyström sample, labelled t = its budget.
            var final = recorder.Snapshots[^1] with { T = b, KernelChanged = i > 0, Gram = null };
            snapshots.Add(final);
            var writing = Stopwatch.StartNew();
            writer.Write(final, snapshots, samples[i].Indices);
            recordSeconds += writing.Elapsed.TotalSeconds;
        }
        return Finish(directory, writer, snapshots, recordSeconds, trainingSeconds, total, resampled: true);
    }

    private DynamicsStudyResult Finish(string directory, DynamicsRunWriter writer, IReadOnlyList<DynamicsSnapshot> snapshots, double recordSeconds,
        double trainingSeconds, Stopwatch total, bool resampled)
    {
        var timings = new Dictionary<string, object?>
        {
            ["training_seconds"] = trainingSeconds, ["recording_seconds"] = recordSeconds,
            ["recording_overhead"] = trainingSeconds > 0 ? recordSeconds / trainingSeconds : null, ["total_seconds"] = total.Elapsed.TotalSeconds,
        };
        var metrics = writer.Finish(snapshots, timings, _options.Compute);
        return new DynamicsStudyResult(directory, snapshots, metrics, writer.FindingOf(metrics, resampled), trainingSeconds, recordSeconds,
            total.Elapsed.TotalSeconds, resampled);
    }
}
