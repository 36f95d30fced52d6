using System.Numerics.Tensors;
using System.Text.Json;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Dynamics;

/// <summary>A dynamics run read back from its directory (never from a live solver): settings, snapshots and their metrics.</summary>
public sealed class DynamicsRun
{
    private DynamicsRun(string directory, JsonElement settings, IReadOnlyList<DynamicsSnapshot> snapshots, DynamicsMetrics metrics, string finding,
        JsonElement? timings)
    {
        Directory = directory;
        Settings = settings;
        Snapshots = snapshots;
        Metrics = metrics;
        Finding = finding;
        Timings = timings;
    }

    /// <summary>The run directory.</summary>
    public string Directory { get; }

    /// <summary>The settings object of run.json.</summary>
    public JsonElement Settings { get; }

    /// <summary>The snapshots, in time order.</summary>
    public IReadOnlyList<DynamicsSnapshot> Snapshots { get; }

    /// <summary>Their metrics.</summary>
    public DynamicsMetrics Metrics { get; }

    /// <summary>The measured finding in one sentence.</summary>
    public string Finding { get; }

    /// <summary>The timings object of run.json, when the run finished.</summary>
    public JsonElement? Timings { get; }

    /// <summary>A short name: the directory's.</summary>
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Directory));

    /// <summary>Reads the run in <paramref name="directory"/>.</summary>
    /// <exception cref="DataFormatException">Not a run directory, or a missing or corrupt file (named).</exception>
    public static DynamicsRun Read(string directory)
    {
        string runJson = Path.Combine(directory, "run.json");
        if (!File.Exists(runJson)) throw new DataFormatException($"{directory}: not a dynamics run (no run.json).");
        using var doc = ParseJson(runJson);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
            || format.GetString() != "eigenpro-dynamics-run/1")
            throw new DataFormatException($"{runJson}: not an eigenpro dynamics run (format {(root.ValueKind == JsonValueKind.Object && root.TryGetProperty("format", out var f) ? f.ToString() : "missing")}).");
        var settings = Property(root, "settings", JsonValueKind.Object, runJson);
        var snapshots = new List<DynamicsSnapshot>();
        Matrix? previousVectors = null;
        foreach (var s in Property(root, "snapshots", JsonValueKind.Array, runJson).EnumerateArray())
        {
            if (!Property(s, "t", JsonValueKind.Number, runJson).TryGetInt32(out int t) || t < 0 || (snapshots.Count > 0 && t <= snapshots[^1].T))
                throw new DataFormatException($"{runJson}: snapshot {snapshots.Count + 1}'s t is not a whole number after the previous snapshot's.");
            string dir = Path.Combine(directory, "snapshots", $"t{t:D3}");
            var changedElement = s.ValueKind == JsonValueKind.Object && s.TryGetProperty("kernel_changed", out var c) ? c : default;
            if (changedElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                throw new DataFormatException($"{runJson}: snapshot t = {t} has no kernel_changed true or false.");
            bool changed = changedElement.GetBoolean();
            var values = Doubles(Npy.Read(Need(dir, "eigenvalues.npy")), dir);
            // An unchanged kernel shares one eigensystem object, as during recording: its distances stay exactly 0.
            var vectors = !changed && previousVectors is not null ? previousVectors : MatrixOf(Npy.Read(Need(dir, "eigenvectors.npy")), dir);
            var residual = MatrixOf(Npy.Read(Need(dir, "residual.npy")), dir);
            var learned = Doubles(Npy.Read(Need(dir, "learned_fraction.npy")), dir);
            double[]? mValues = File.Exists(Path.Combine(dir, "m_eigenvalues.npy")) ? Doubles(Npy.Read(Path.Combine(dir, "m_eigenvalues.npy")), dir) : null;
            Matrix? mVectors = mValues is null ? null : MatrixOf(Npy.Read(Need(dir, "m_eigenvectors.npy")), dir);
            Matrix? weights = File.Exists(Path.Combine(dir, "weights.npy")) ? MatrixOf(Npy.Read(Path.Combine(dir, "weights.npy")), dir) : null;
            KernelChange? kernel = Number(s, "kernel_distance_from_start") is double kd
                ? new KernelChange(kd, Number(s, "kernel_distance_consecutive") ?? double.NaN, Number(s, "kernel_target_alignment") ?? double.NaN,
                    Number(s, "kernel_relative_change_from_start") ?? double.NaN) : null;
            double[]? captured = File.Exists(Path.Combine(dir, "target_captured.npy")) ? Doubles(Npy.Read(Path.Combine(dir, "target_captured.npy")), dir) : null;
            var m = File.Exists(Path.Combine(dir, "m.npy")) ? MatrixOf(Npy.Read(Path.Combine(dir, "m.npy")), dir) : null;
            // The shapes the writer gives every snapshot alike: k eigenpairs of an m-row subsample, a k × c residual.
            var first = snapshots.Count > 0 ? snapshots[0] : null;
            int k = vectors.Columns;
            if (k == 0 || vectors.Rows < k || values.Length != k || learned.Length != k || residual.Rows != k || residual.Columns == 0
                || (captured is not null && captured.Length != k) || (mValues is not null && mVectors!.Columns != mValues.Length)
                || (first is not null && (vectors.Rows != first.Eigenvectors.Rows || k != first.Eigenvectors.Columns || residual.Columns != first.Residual.Columns)))
                throw new DataFormatException($"{dir}: the arrays' shapes disagree (eigenvectors {vectors.Rows}×{k}, {values.Length} eigenvalues, residual {residual.Rows}×{residual.Columns}, {learned.Length} learned fractions{(first is null ? "" : $"; the first snapshot's eigenvectors are {first.Eigenvectors.Rows}×{first.Eigenvectors.Columns}")}).");
            // Eigenvectors are unit columns (the metrics' principal angles assume it; a forged scale would overflow them).
            foreach (var (v, file) in new[] { (vectors, "eigenvectors.npy"), (mVectors, "m_eigenvectors.npy") })
                if (v is not null && !UnitColumns(v))
                    throw new DataFormatException($"{Path.Combine(dir, file)}: the eigenvectors are not unit vectors.");
            snapshots.Add(new DynamicsSnapshot(t, values, vectors, residual, learned, changed, mValues, mVectors, Number(s, "train_mse"),
                Number(s, "train_accuracy"), Number(s, "validation_mse"), Number(s, "validation_accuracy"), Number(s, "record_seconds") ?? 0, weights,
                m, Number(s, "epoch"), kernel, captured));
            previousVectors = vectors;
        }
        if (snapshots.Count == 0) throw new DataFormatException($"{runJson}: the run has no snapshots yet.");
        var options = new DynamicsOptions
        {
            CeaseTolerance = Property(Property(root, "summary", JsonValueKind.Object, runJson), "cease_tolerance", JsonValueKind.Number, runJson).GetDouble(),
            TrackedEigenvectors = snapshots[0].Eigenvectors.Columns,
        };
        var metrics = DynamicsMetrics.Compute(snapshots, options);
        bool resampled = settings.TryGetProperty("protocol", out var protocol) && protocol.ValueKind == JsonValueKind.String && protocol.GetString() == "resample";
        string unit = DynamicsRunWriter.TimeUnit(settings.TryGetProperty("study", out var study) && study.ValueKind == JsonValueKind.String ? study.GetString() : null);
        return new DynamicsRun(directory, settings.Clone(), snapshots, metrics, DynamicsRunWriter.Finding(metrics, options.CeaseTolerance, resampled, unit),
            root.TryGetProperty("timings", out var timings) && timings.ValueKind == JsonValueKind.Object ? timings.Clone() : null);
    }

    /// <summary>The resume state (state.npz) of snapshot <paramref name="t"/> of the run in <paramref name="directory"/>.</summary>
    /// <exception cref="DataFormatException">The snapshot has none.</exception>
    public static IReadOnlyDictionary<string, NpyArray> ReadState(string directory, int t) =>
        Npy.ReadArchive(Need(Path.Combine(directory, "snapshots", $"t{t:D3}"), DynamicsRunWriter.StateFile));

    /// <summary>A kernel matrix the run kept (<see cref="DynamicsRunWriter.StartKernelFile"/> …), or null when absent.</summary>
    public static Matrix? ReadKernel(string directory, string file) =>
        File.Exists(Path.Combine(directory, file)) ? MatrixOf(Npy.Read(Path.Combine(directory, file)), directory) : null;

    /// <summary>run.json (or any JSON file of a run) parsed.</summary>
    /// <exception cref="DataFormatException">Not valid JSON (the file named).</exception>
    internal static JsonDocument ParseJson(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new DataFormatException($"{path}: not valid JSON ({e.Message})."); }
    }

    /// <summary>The property <paramref name="name"/> of <paramref name="e"/>, which must be a JSON <paramref name="kind"/>.</summary>
    /// <exception cref="DataFormatException">Missing, or of another kind (the file named).</exception>
    internal static JsonElement Property(JsonElement e, string name, JsonValueKind kind, string path) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == kind
            ? v : throw new DataFormatException($"{path}: expected '{name}' to be a JSON {kind.ToString().ToLowerInvariant()}.");

    private static string Need(string dir, string file)
    {
        string path = Path.Combine(dir, file);
        if (!File.Exists(path)) throw new DataFormatException($"{path}: missing (the run's snapshot is incomplete).");
        return path;
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    // A run's arrays are finite (a diverged training stops before it is recorded); a NaN or an infinity read back
    // is a damaged file, refused here rather than deep inside the metrics.
    private static double[] Doubles(NpyArray array, string dir)
    {
        var values = array.Shape.Length == 1 ? array.Data switch
        {
            double[] d => d,
            float[] f => f.Select(x => (double)x).ToArray(),
            _ => null,
        } : null;
        if (values is null) throw new DataFormatException($"{dir}: expected a 1-D float array, found {array.Data.GetType().GetElementType()?.Name} of shape ({string.Join(", ", array.Shape)}).");
        if (!TensorPrimitives.IsFiniteAll<double>(values)) throw new DataFormatException($"{dir}: an array holds a NaN or an infinity.");
        return values;
    }

    private static bool UnitColumns(Matrix v)
    {
        var norms = new double[v.Columns];
        for (int i = 0; i < v.Rows; i++)
        {
            var row = v.Row(i);
            for (int j = 0; j < norms.Length; j++) norms[j] += (double)row[j] * row[j];
        }
        return norms.All(n => Math.Abs(n - 1) < 1e-3);
    }

    private static Matrix MatrixOf(NpyArray array, string dir)
    {
        if (array.Shape.Length != 2 || array.Data is not float[] data)
            throw new DataFormatException($"{dir}: expected a 2-D float32 array, found shape ({string.Join(", ", array.Shape)}).");
        if (!TensorPrimitives.IsFiniteAll<float>(data)) throw new DataFormatException($"{dir}: a matrix holds a NaN or an infinity.");
        return new Matrix(array.Shape[0], array.Shape[1], data);
    }
}
