using System.Globalization;
using System.Text;
using System.Text.Json;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Dynamics;

/// <summary>
/// Writes a dynamics run directory (spec dynamics.md §5): <c>subsample_indices.npy</c> (the pinned training rows),
/// <c>snapshots/tNNN/*.npy</c> and <c>run.json</c> as each snapshot arrives, <c>metrics.csv</c> when the run ends
/// (<see cref="Finish"/>) —
/// every file atomically, so an interrupted run leaves whole files describing the snapshots it completed (and
/// <c>--resume</c> or the report recompute the metrics from them).
/// </summary>
public sealed class DynamicsRunWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly string _directory;
    private readonly IReadOnlyDictionary<string, object?> _settings;
    private readonly IReadOnlyList<int> _subsampleIndices;
    private readonly DynamicsOptions _options;

    /// <summary>
    /// A writer into <paramref name="directory"/>, which must not exist or be empty unless <paramref name="overwrite"/>
    /// (then its previous run files are replaced). <paramref name="settings"/> describe the run (dataset, kernel,
    /// solver, …) and go into run.json with the subsample's row indices.
    /// </summary>
    /// <exception cref="IOException">The directory holds other files and <paramref name="overwrite"/> is false.</exception>
    public DynamicsRunWriter(string directory, IReadOnlyDictionary<string, object?> settings, IReadOnlyList<int> subsampleIndices,
        DynamicsOptions options, bool overwrite = false)
    {
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            if (!overwrite)
                throw new IOException($"{directory}: exists and is not empty; choose a new directory or pass --force to replace the run in it.");
            foreach (var name in new[] { "run.json", "metrics.csv", "report.html", "subsample_indices.npy", StartKernelFile, LastKernelFile, PreviousKernelFile })
                File.Delete(Path.Combine(directory, name));
            if (Directory.Exists(Path.Combine(directory, "snapshots"))) Directory.Delete(Path.Combine(directory, "snapshots"), recursive: true);
        }
        Directory.CreateDirectory(Path.Combine(directory, "snapshots"));
        Npy.Write(Path.Combine(directory, "subsample_indices.npy"), new NpyArray(subsampleIndices.Select(i => (long)i).ToArray(), subsampleIndices.Count));
        _directory = directory;
        _settings = settings;
        _subsampleIndices = subsampleIndices;
        _options = options;
    }

    /// <summary>
    /// A writer that continues the run in <paramref name="directory"/> (after <c>--resume</c>): its run.json must have the
    /// same settings — all but the keys in <paramref name="mayDiffer"/> — and the same pinned subsample.
    /// </summary>
    /// <exception cref="IOException">Not a run, or a run of other settings (each difference named).</exception>
    public static DynamicsRunWriter Continue(string directory, IReadOnlyDictionary<string, object?> settings, IReadOnlyList<int> subsampleIndices,
        DynamicsOptions options, IReadOnlyCollection<string> mayDiffer, bool keepKernels = true)
    {
        string runJson = Path.Combine(directory, "run.json");
        if (!File.Exists(runJson)) throw new IOException($"{directory}: no run to resume (no run.json); start it without --resume.");
        using var doc = DynamicsRun.ParseJson(runJson);
        var saved = DynamicsRun.Property(doc.RootElement, "settings", JsonValueKind.Object, runJson);
        var differences = new List<string>();
        foreach (var (key, value) in settings)
        {
            if (mayDiffer.Contains(key)) continue;
            string now = JsonSerializer.Serialize(value, Json), before = saved.TryGetProperty(key, out var v) ? v.GetRawText() : "(missing)";
            if (JsonSerializer.Serialize(JsonDocument.Parse(now).RootElement, Json) != JsonSerializer.Serialize(JsonDocument.Parse(before == "(missing)" ? "null" : before).RootElement, Json))
                differences.Add($"{key}: {before} in the run, {now} now");
        }
        string indicesPath = Path.Combine(directory, "subsample_indices.npy");
        if (!File.Exists(indicesPath)) throw new DataFormatException($"{indicesPath}: missing (the run's pinned subsample).");
        var indices = Npy.Read(indicesPath);
        if (indices.Data is not long[] rows || indices.Shape.Length != 1)
            throw new DataFormatException($"{indicesPath}: expected a 1-D int64 array of row indices, found {indices.Data.GetType().GetElementType()?.Name} of shape ({string.Join(", ", indices.Shape)}).");
        if (!rows.SequenceEqual(subsampleIndices.Select(i => (long)i))) differences.Add("the pinned subsample differs");
        if (differences.Count > 0)
            throw new IOException($"{directory} holds a run of other settings ({string.Join("; ", differences)}); resume it with those, or start a new run.");
        return new DynamicsRunWriter(directory, settings, subsampleIndices, options) { KeepKernels = keepKernels };
    }

    private DynamicsRunWriter(string directory, IReadOnlyDictionary<string, object?> settings, IReadOnlyList<int> subsampleIndices, DynamicsOptions options)
    {
        _directory = directory;
        _settings = settings;
        _subsampleIndices = subsampleIndices;
        _options = options;
    }

    /// <summary>K_0(X_s, X_s)/s of a run whose kernel changes: what a resumed run measures kernel distances from.</summary>
    public const string StartKernelFile = "kernel_start.npy";

    /// <summary>The latest snapshot's kernel matrix (and the one before it: <see cref="PreviousKernelFile"/>).</summary>
    public const string LastKernelFile = "kernel_last.npy";

    /// <summary>The kernel matrix of the snapshot before the latest (what a study that redoes its last step resumes from).</summary>
    public const string PreviousKernelFile = "kernel_previous.npy";

    /// <summary>The file a snapshot's resume state goes to (only the latest snapshot's is kept).</summary>
    public const string StateFile = "state.npz";

    private string? _lastState;
    private DynamicsMetrics? _recording;

    /// <summary>Whether the kernel matrices a resumed run of a changing kernel needs are kept (false for a fixed kernel).</summary>
    public bool KeepKernels { get; init; } = true;

    /// <summary>Writes <paramref name="snapshot"/>'s arrays and refreshes run.json for <paramref name="all"/> so far.</summary>
    public void Write(DynamicsSnapshot snapshot, IReadOnlyList<DynamicsSnapshot> all, IReadOnlyList<int>? snapshotSubsample = null)
    {
        string dir = Path.Combine(_directory, "snapshots", string.Create(CultureInfo.InvariantCulture, $"t{snapshot.T:D3}"));
        Directory.CreateDirectory(dir);
        // The resample protocol: this snapshot's model had a Nyström sample of its own.
        if (snapshotSubsample is not null)
            Npy.Write(Path.Combine(dir, "subsample_indices.npy"), new NpyArray(snapshotSubsample.Select(i => (long)i).ToArray(), snapshotSubsample.Count));
        Npy.Write(Path.Combine(dir, "eigenvalues.npy"), new NpyArray(snapshot.Eigenvalues.ToArray(), snapshot.Eigenvalues.Length));
        Npy.Write(Path.Combine(dir, "eigenvectors.npy"), snapshot.Eigenvectors);
        Npy.Write(Path.Combine(dir, "residual.npy"), snapshot.Residual);
        Npy.Write(Path.Combine(dir, "learned_fraction.npy"), new NpyArray(snapshot.LearnedFraction.ToArray(), snapshot.LearnedFraction.Length));
        if (snapshot.Weights is { } weights) Npy.Write(Path.Combine(dir, "weights.npy"), weights);
        if (snapshot.FeatureMatrix is { } m) Npy.Write(Path.Combine(dir, "m.npy"), m);
        if (snapshot.TargetCaptured is { } captured) Npy.Write(Path.Combine(dir, "target_captured.npy"), new NpyArray(captured.ToArray(), captured.Length));
        if (snapshot.State is { } state)
        {
            // Only the latest state is kept: a network's parameters per epoch would outweigh the rest of the run.
            string path = Path.Combine(dir, StateFile);
            Npy.WriteArchive(path, state);
            if (_lastState is not null && _lastState != path) File.Delete(_lastState);
            _lastState = path;
        }
        // A changing kernel keeps its first and its two latest matrices, so a resumed run continues the kernel distances.
        if (KeepKernels && snapshot.Gram is { } gram && (snapshot.KernelChanged || all.Count == 1))
        {
            if (all.Count == 1) Npy.Write(Path.Combine(_directory, StartKernelFile), gram);
            string last = Path.Combine(_directory, LastKernelFile);
            if (File.Exists(last)) File.Move(last, Path.Combine(_directory, PreviousKernelFile), overwrite: true);
            Npy.Write(last, gram);
        }
        if (snapshot.FeatureEigenvalues is { } mv)
        {
            Npy.Write(Path.Combine(dir, "m_eigenvalues.npy"), new NpyArray(mv.ToArray(), mv.Length));
            Npy.Write(Path.Combine(dir, "m_eigenvectors.npy"), snapshot.FeatureEigenvectors!);
        }
        // run.json after every snapshot needs only the subspace distances; the per-eigenvector metrics of every t go
        // to metrics.csv once, in Finish: recomputing and rewriting them per snapshot cost more than the recording.
        // The earlier snapshots' distances are kept from the previous call (the same snapshots, one more now).
        var metrics = DynamicsMetrics.Compute(all, _options, perEigenvector: false,
            earlier: _recording is { } r && r.Times.Length == all.Count - 1 && r.Times.SequenceEqual(all.Take(r.Times.Length).Select(x => x.T)) ? r : null);
        _recording = metrics;
        AtomicFile.WriteText(Path.Combine(_directory, "run.json"), JsonSerializer.Serialize(Document(metrics, all, null), Json) + "\n");
    }

    /// <summary>The run has ended: writes metrics.csv and the final run.json with <paramref name="timings"/>, and returns the metrics.</summary>
    public DynamicsMetrics Finish(IReadOnlyList<DynamicsSnapshot> all, IReadOnlyDictionary<string, object?> timings, ComputeContext? context = null)
    {
        var metrics = DynamicsMetrics.Compute(all, _options, context, earlier: _recording is { } r && r.Times.Length == all.Count
            && r.Times.SequenceEqual(all.Select(x => x.T)) ? r : null);
        AtomicFile.WriteText(Path.Combine(_directory, "metrics.csv"), Csv(metrics, all));
        AtomicFile.WriteText(Path.Combine(_directory, "run.json"), JsonSerializer.Serialize(Document(metrics, all, timings), Json) + "\n");
        return metrics;
    }

    private bool Resampled => _settings.TryGetValue("protocol", out var p) && p as string == "resample";

    /// <summary>The finding of <paramref name="metrics"/> for this run (its time unit from the settings; the protocol too unless given).</summary>
    public string FindingOf(DynamicsMetrics metrics, bool? resampled = null) =>
        Finding(metrics, _options.CeaseTolerance, resampled ?? Resampled, TimeUnit(_settings.TryGetValue("study", out var study) ? study as string : null));

    /// <summary>What one unit of a study's time is: an RFM iteration, an epoch otherwise.</summary>
    public static string TimeUnit(string? study) => study == "rfm" ? "iteration" : "epoch";

    /// <summary>The run.json document.</summary>
    private object Document(DynamicsMetrics metrics, IReadOnlyList<DynamicsSnapshot> all, IReadOnlyDictionary<string, object?>? timings) => new
    {
        Format = "eigenpro-dynamics-run/1",
        Settings = _settings,
        SubsampleSize = _subsampleIndices.Count,
        SubsampleIndicesFile = "subsample_indices.npy",
        TrackedEigenvectors = all[0].Eigenvectors.Columns,
        Timings = timings,
        Summary = new
        {
            metrics.KernelFixed,
            Finding = FindingOf(metrics),
            metrics.CeasedAt,
            metrics.CeaseDimension,
            CeaseTolerance = _options.CeaseTolerance,
            FinalSubspaceDistanceFromStart = metrics.Subspaces.ToDictionary(s => s.K.ToString(CultureInfo.InvariantCulture), s => s.FromStart[^1]),
            FinalKernelDistanceFromStart = metrics.KernelDistanceFromStart[^1],
            FinalKernelRelativeChangeFromStart = metrics.KernelRelativeChangeFromStart[^1],
            KernelTargetAlignmentStart = metrics.KernelTargetAlignment[0],
            KernelTargetAlignmentFinal = metrics.KernelTargetAlignment[^1],
        },
        Snapshots = all.Select((s, i) => new
        {
            s.T,
            s.Epoch,
            s.TrainMse,
            s.TrainAccuracy,
            s.ValidationMse,
            s.ValidationAccuracy,
            s.KernelChanged,
            TopEigenvalue = s.Eigenvalues[0],
            SubspaceDistanceFromStart = metrics.Subspaces.ToDictionary(c => c.K.ToString(CultureInfo.InvariantCulture), c => c.FromStart[i]),
            SubspaceDistanceConsecutive = metrics.Subspaces.ToDictionary(c => c.K.ToString(CultureInfo.InvariantCulture), c => c.Consecutive[i]),
            MeanLearnedFraction = Mean(s.LearnedFraction),
            KernelDistanceFromStart = s.Kernel?.DistanceFromStart,
            KernelDistanceConsecutive = s.Kernel?.DistanceFromPrevious,
            KernelRelativeChangeFromStart = s.Kernel?.RelativeChangeFromStart,
            KernelTargetAlignment = s.Kernel?.TargetAlignment,
            TargetCaptured = metrics.TargetCaptured.ToDictionary(c => c.Key.ToString(CultureInfo.InvariantCulture), c => c.Value[i]),
            s.RecordSeconds,
        }),
    };

    /// <summary>The measured finding in one sentence.</summary>
    /// <param name="m">The run's metrics.</param>
    /// <param name="tolerance">The cease tolerance.</param>
    /// <param name="resampled">The resample protocol (distances between fresh models).</param>
    /// <param name="timeUnit">What one unit of time is ("epoch", or "iteration" for RFM).</param>
    public static string Finding(DynamicsMetrics m, double tolerance, bool resampled = false, string timeUnit = "epoch")
    {
        var largest = m.Subspaces.First(s => s.K == m.CeaseDimension);
        if (resampled)
            return string.Create(CultureInfo.InvariantCulture,
                $"Resample protocol: every snapshot is a fresh model with fresh centers and a fresh Nyström sample (as the study built them), so these distances compare eigenvectors of different points — they measure sampling variability, not training: the top-{largest.K} subspace distance to the first model is {largest.FromStart[^1]:G3} at t = {m.Times[^1]} (max √(2k)).");
        if (m.KernelFixed)
            return "The kernel is fixed during training, so the training-data eigenvectors cannot move: every subspace distance is 0. What moves is the residual along them (the learned fraction per direction).";
        string moved = string.Create(CultureInfo.InvariantCulture, $"the top-{largest.K} eigenvector subspace moved by {largest.FromStart[^1]:G3} (projection distance, at most √(2k)) from t = {m.Times[0]} to t = {m.Times[^1]}");
        string finding = m.CeasedAt is int t
            ? string.Create(CultureInfo.InvariantCulture, $"Change ceased at t = {t}: every later step moved the top-{largest.K} subspace by less than {tolerance:G3}; {moved}.")
            : $"Change had not ceased by the last snapshot; {moved}.";
        return finding + KernelFinding(m, timeUnit);
    }

    /// <summary>The kernel's own change: its distance from the start, the share of it reached after one epoch, its relative change, the alignment.</summary>
    private static string KernelFinding(DynamicsMetrics m, string unit)
    {
        var d = m.KernelDistanceFromStart;
        if (d.Length < 2 || !double.IsFinite(d[^1])) return "";
        var inv = CultureInfo.InvariantCulture;
        string text = string.Create(inv, $" The kernel matrix moved by {d[^1]:G3} (1 − cosine to the start) by {unit} {m.Epochs[^1]:G4}");
        int firstEpoch = Array.FindLastIndex(m.Epochs, e => e <= 1.0 + 1e-9);
        if (firstEpoch > 0 && m.Epochs[^1] > 1 && d[^1] > 0)
            text += string.Create(inv, $", {100 * d[firstEpoch] / d[^1]:F0} % of that within the first {unit}");
        // The shape distance is blind to scale, which is most of a finite network's change.
        if (m.KernelRelativeChangeFromStart is [.., var r] && double.IsFinite(r))
            text += string.Create(inv, $"; ‖K_t − K_0‖_F/‖K_0‖_F = {r:G3}");
        var a = m.KernelTargetAlignment;
        if (double.IsFinite(a[0]) && double.IsFinite(a[^1])) text += string.Create(inv, $"; its alignment with the labels went from {a[0]:G3} to {a[^1]:G3}");
        return text + ".";
    }

    private static string Csv(DynamicsMetrics m, IReadOnlyList<DynamicsSnapshot> all)
    {
        var sb = new StringBuilder("t,metric,index,value\n");
        void Row(int t, string metric, int index, double value) =>
            sb.Append(CultureInfo.InvariantCulture, $"{t},{metric},{index},{value:R}\n");
        for (int i = 0; i < all.Count; i++)
        {
            int t = m.Times[i];
            for (int j = 0; j < all[i].Eigenvalues.Length; j++) Row(t, "eigenvalue", j, all[i].Eigenvalues[j]);
            for (int j = 0; j < m.SumChange[i].Length; j++) Row(t, "sum_change_from_start", j, m.SumChange[i][j]);
            for (int j = 0; j < m.OverlapFromStart[i].Length; j++) Row(t, "overlap_change_from_start", j, m.OverlapFromStart[i][j]);
            for (int j = 0; j < m.EigenvalueChange[i].Length; j++) Row(t, "eigenvalue_relative_change", j, m.EigenvalueChange[i][j]);
            for (int j = 0; j < m.LearnedFraction[i].Length; j++) Row(t, "learned_fraction", j, m.LearnedFraction[i][j]);
            Row(t, "epoch", 0, m.Epochs[i]);
            Row(t, "kernel_distance_from_start", 0, m.KernelDistanceFromStart[i]);
            Row(t, "kernel_distance_consecutive", 0, m.KernelDistanceConsecutive[i]);
            Row(t, "kernel_relative_change_from_start", 0, m.KernelRelativeChangeFromStart[i]);
            Row(t, "kernel_velocity", 0, m.KernelVelocity[i]);
            Row(t, "kernel_target_alignment", 0, m.KernelTargetAlignment[i]);
            foreach (var (k, captured) in m.TargetCaptured) Row(t, "target_captured", k, captured[i]);
            foreach (var s in m.Subspaces)
            {
                Row(t, "subspace_distance_from_start", s.K, s.FromStart[i]);
                Row(t, "subspace_distance_consecutive", s.K, s.Consecutive[i]);
                Row(t, "largest_principal_angle_from_start", s.K, s.LargestAngleFromStart[i]);
            }
        }
        return sb.ToString();
    }

    private static double Mean(double[] values)
    {
        var finite = values.Where(double.IsFinite).ToArray();
        return finite.Length == 0 ? double.NaN : finite.Average();
    }
}
