using System.Globalization;
using System.Text.Json;
using EigenProNet.Models;

namespace EigenProNet.Solvers;

/// <summary>
/// Checkpoints of a run in a folder: after every epoch the model's weights, the epoch, the epochs' reports and the
/// run's identity (whatever shapes the weights besides the number of epochs, as the caller describes it) are written
/// atomically to DIR/checkpoint.epn. <see cref="Resume"/> checks the identity and hands the solver
/// <see cref="ResumeFrom"/> (<see cref="SolverOptions.ResumeFrom"/>), so the resumed run ends where an uninterrupted one
/// would. Pass it to the solver as its observer (with others through <see cref="CompositeObserver"/>).
/// </summary>
public sealed class CheckpointDirectory : ITrainingObserver
{
    /// <summary>The checkpoint's file name inside the folder.</summary>
    public const string FileName = "checkpoint.epn";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly IReadOnlyDictionary<string, string> _identity;
    private readonly List<EpochReport> _epochs = [];

    private CheckpointDirectory(string directory, IReadOnlyDictionary<string, string> identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        _identity = identity;
        FilePath = Path.Combine(Path.GetFullPath(directory), FileName);
    }

    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; }

    /// <summary>Where the solver resumes from (null for a fresh run).</summary>
    public TrainingCheckpoint? ResumeFrom { get; private set; }

    /// <summary>The epochs reported before the checkpoint (empty for a fresh run); prepend them to the resumed run's.</summary>
    public IReadOnlyList<EpochReport> EarlierEpochs { get; private set; } = [];

    /// <summary>A fresh run checkpointed in <paramref name="directory"/> (created if needed).</summary>
    /// <exception cref="ArgumentException">The folder already holds a checkpoint (resume it, or choose an empty folder).</exception>
    public static CheckpointDirectory Create(string directory, IReadOnlyDictionary<string, string> identity)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var checkpoints = new CheckpointDirectory(directory, identity);
        if (File.Exists(checkpoints.FilePath))
            throw new ArgumentException($"{directory} already holds {FileName}; resume it, or choose an empty folder.", nameof(directory));
        Directory.CreateDirectory(Path.GetDirectoryName(checkpoints.FilePath)!);
        return checkpoints;
    }

    /// <summary>Continues the run checkpointed in <paramref name="directory"/> up to <paramref name="epochs"/> epochs in all.</summary>
    /// <exception cref="ArgumentException">No checkpoint there, or it already holds <paramref name="epochs"/> epochs.</exception>
    /// <exception cref="InvalidDataException">Another run wrote it: the message names every identity entry that differs.</exception>
    public static CheckpointDirectory Resume(string directory, IReadOnlyDictionary<string, string> identity, int epochs)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var checkpoints = new CheckpointDirectory(directory, identity);
        string path = checkpoints.FilePath;
        if (!File.Exists(path)) throw new ArgumentException($"{path} does not exist (no completed epoch was saved there).", nameof(directory));
        var saved = ModelFile.Load(path);
        var differences = identity.Keys.Union(saved.Metadata.Keys.Where(key => key.StartsWith("run.", StringComparison.Ordinal)).Select(key => key[4..]))
            .Where(key => !string.Equals(Get(saved.Metadata, "run." + key), Get(identity, key), StringComparison.Ordinal))
            .Select(key => $"{key}: checkpoint {Get(saved.Metadata, "run." + key) ?? "(none)"}, this run {Get(identity, key) ?? "(none)"}")
            .ToList();
        if (differences.Count > 0)
            throw new InvalidDataException($"{path} was written by another run and cannot be resumed here — {string.Join("; ", differences)}.");
        if (!saved.Metadata.TryGetValue("epoch", out var epochText) || !int.TryParse(epochText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch)
            || !saved.Metadata.TryGetValue("epochs", out var reports))
            throw new InvalidDataException($"{path} is a model file but not a checkpoint (no epoch recorded in it).");
        if (epoch >= epochs) throw new ArgumentException($"{epochs} epochs: the checkpoint already holds epoch {epoch}; ask for more epochs to continue.", nameof(epochs));
        checkpoints.ResumeFrom = new TrainingCheckpoint(epoch, saved.Model.Weights);
        checkpoints.EarlierEpochs = JsonSerializer.Deserialize<List<EpochReport>>(reports, Json) ?? [];
        checkpoints._epochs.AddRange(checkpoints.EarlierEpochs);
        return checkpoints;
    }

    private static string? Get(IReadOnlyDictionary<string, string> d, string key) => d.TryGetValue(key, out var v) ? v : null;

    /// <summary>Saves the model after each epoch (atomically: an interrupted write leaves the previous checkpoint).</summary>
    public void OnEpoch(EpochReport report, KernelModel model)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(model);
        _epochs.Add(report);
        var metadata = _identity.ToDictionary(kv => "run." + kv.Key, kv => kv.Value);
        metadata["epoch"] = report.Epoch.ToString(CultureInfo.InvariantCulture);
        metadata["epochs"] = JsonSerializer.Serialize(_epochs, Json);
        model.Save(FilePath, metadata);
    }
}
