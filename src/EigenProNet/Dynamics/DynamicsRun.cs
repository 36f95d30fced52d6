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
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(runJson)); }
        catch (JsonException e) { throw new DataFormatException($"{runJson}: not valid JSON ({e.Message})."); }
        var root = doc.RootElement;
        if (!root.TryGetProperty("format", out var format) || format.GetString() != "eigenpro-dynamics-run/1")
            throw new DataFormatException($"{runJson}: not an eigenpro dynamics run (format {(root.TryGetProperty("format", out var f) ? f.ToString() : "missing")}).");
        var snapshots = new List<DynamicsSnapshot>();
        Matrix? previousVectors = null;
        foreach (var s in root.GetProperty("snapshots").EnumerateArray())
        {
            int t = s.GetProperty("t").GetInt32();
            string dir = Path.Combine(directory, "snapshots", $"t{t:D3}");
            bool changed = s.GetProperty("kernel_changed").GetBoolean();
            var values = Doubles(Npy.Read(Need(dir, "eigenvalues.npy")).Data);
            // An unchanged kernel shares one eigensystem object, as during recording: its distances stay exactly 0.
            var vectors = !changed && previousVectors is not null ? previousVectors : MatrixOf(Npy.Read(Need(dir, "eigenvectors.npy")), dir);
            var residual = MatrixOf(Npy.Read(Need(dir, "residual.npy")), dir);
            var learned = Doubles(Npy.Read(Need(dir, "learned_fraction.npy")).Data);
            double[]? mValues = File.Exists(Path.Combine(dir, "m_eigenvalues.npy")) ? Doubles(Npy.Read(Path.Combine(dir, "m_eigenvalues.npy")).Data) : null;
            Matrix? mVectors = mValues is null ? null : MatrixOf(Npy.Read(Need(dir, "m_eigenvectors.npy")), dir);
            Matrix? weights = File.Exists(Path.Combine(dir, "weights.npy")) ? MatrixOf(Npy.Read(Path.Combine(dir, "weights.npy")), dir) : null;
            KernelChange? kernel = Number(s, "kernel_distance_from_start") is double kd
                ? new KernelChange(kd, Number(s, "kernel_distance_consecutive") ?? double.NaN, Number(s, "kernel_target_alignment") ?? double.NaN,
                    Number(s, "kernel_relative_change_from_start") ?? double.NaN) : null;
            double[]? captured = File.Exists(Path.Combine(dir, "target_captured.npy")) ? Doubles(Npy.Read(Path.Combine(dir, "target_captured.npy")).Data) : null;
            snapshots.Add(new DynamicsSnapshot(t, values, vectors, residual, learned, changed, mValues, mVectors, Number(s, "train_mse"),
                Number(s, "train_accuracy"), Number(s, "validation_mse"), Number(s, "validation_accuracy"), Number(s, "record_seconds") ?? 0, weights,
                File.Exists(Path.Combine(dir, "m.npy")) ? MatrixOf(Npy.Read(Path.Combine(dir, "m.npy")), dir) : null, Number(s, "epoch"), kernel, captured));
            previousVectors = vectors;
        }
        if (snapshots.Count == 0) throw new DataFormatException($"{runJson}: the run has no snapshots yet.");
        var options = new DynamicsOptions
        {
            CeaseTolerance = root.GetProperty("summary").GetProperty("cease_tolerance").GetDouble(),
            TrackedEigenvectors = snapshots[0].Eigenvectors.Columns,
        };
        var metrics = DynamicsMetrics.Compute(snapshots, options);
        bool resampled = root.GetProperty("settings").TryGetProperty("protocol", out var protocol) && protocol.GetString() == "resample";
        string unit = DynamicsRunWriter.TimeUnit(root.GetProperty("settings").TryGetProperty("study", out var study) ? study.GetString() : null);
        return new DynamicsRun(directory, root.GetProperty("settings").Clone(), snapshots, metrics, DynamicsRunWriter.Finding(metrics, options.CeaseTolerance, resampled, unit),
            root.TryGetProperty("timings", out var timings) && timings.ValueKind == JsonValueKind.Object ? timings.Clone() : null);
    }

    /// <summary>The resume state (state.npz) of snapshot <paramref name="t"/> of the run in <paramref name="directory"/>.</summary>
    /// <exception cref="DataFormatException">The snapshot has none.</exception>
    public static IReadOnlyDictionary<string, NpyArray> ReadState(string directory, int t) =>
        Npy.ReadArchive(Need(Path.Combine(directory, "snapshots", $"t{t:D3}"), DynamicsRunWriter.StateFile));

    /// <summary>A kernel matrix the run kept (<see cref="DynamicsRunWriter.StartKernelFile"/> …), or null when absent.</summary>
    public static Matrix? ReadKernel(string directory, string file) =>
        File.Exists(Path.Combine(directory, file)) ? MatrixOf(Npy.Read(Path.Combine(directory, file)), directory) : null;

    private static string Need(string dir, string file)
    {
        string path = Path.Combine(dir, file);
        if (!File.Exists(path)) throw new DataFormatException($"{path}: missing (the run's snapshot is incomplete).");
        return path;
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static double[] Doubles(Array data) => data switch
    {
        double[] d => d,
        float[] f => f.Select(x => (double)x).ToArray(),
        _ => throw new DataFormatException($"Expected a float array, found {data.GetType().GetElementType()?.Name}."),
    };

    private static Matrix MatrixOf(NpyArray array, string dir)
    {
        if (array.Shape.Length != 2 || array.Data is not float[] data)
            throw new DataFormatException($"{dir}: expected a 2-D float32 array, found shape ({string.Join(", ", array.Shape)}).");
        return new Matrix(array.Shape[0], array.Shape[1], data);
    }
}
