using System.Globalization;
using System.Text.Json;
using EigenProNet.Models;
using EigenProNet.Solvers;

namespace EigenProNet.Cli;

/// <summary>
/// <c>--checkpoint-dir</c> / <c>--resume</c>: after every epoch the model's weights, the epoch and the run's identity
/// are written atomically to DIR/checkpoint.epn; a resumed run checks the identity and continues from there.
/// </summary>
internal sealed class Checkpoints : ITrainingObserver
{
    private const string FileName = "checkpoint.epn";
    private readonly string _path;
    private readonly IReadOnlyDictionary<string, string> _identity;
    private readonly List<EpochReport> _epochs = [];

    private Checkpoints(string path, IReadOnlyDictionary<string, string> identity) => (_path, _identity) = (path, identity);

    /// <summary>Where to resume from (null for a fresh run).</summary>
    public TrainingCheckpoint? Resume { get; private set; }

    /// <summary>The epochs reported before the checkpoint (empty for a fresh run).</summary>
    public IReadOnlyList<EpochReport> EarlierEpochs { get; private set; } = [];

    public static Checkpoints? Open(string? directory, bool resume, string solver, IReadOnlyDictionary<string, string> identity, int epochs)
    {
        if (directory is null)
        {
            if (resume) throw new UsageException("--resume needs --checkpoint-dir: the folder of the run to continue.");
            return null;
        }
        if (solver == "direct") throw new UsageException("--checkpoint-dir is for the iterative solvers (eigenpro2, eigenpro3, eigenpro4).");
        string full = Path.GetFullPath(directory);
        string path = Path.Combine(full, FileName);
        var checkpoints = new Checkpoints(path, identity);
        if (!resume)
        {
            if (File.Exists(path))
                throw new UsageException($"--checkpoint-dir {directory} already holds {FileName}; continue it with --resume, or choose an empty folder.");
            Directory.CreateDirectory(full);
            return checkpoints;
        }
        if (!File.Exists(path)) throw new UsageException($"--resume: {path} does not exist (no completed epoch was saved there).");
        var saved = ModelFile.Load(path);
        var differences = identity.Keys.Union(saved.Metadata.Keys.Where(key => key.StartsWith("run.", StringComparison.Ordinal)).Select(key => key[4..]))
            .Where(key => !string.Equals(Get(saved.Metadata, "run." + key), Get(identity, key), StringComparison.Ordinal))
            .Select(key => $"{key}: checkpoint {Get(saved.Metadata, "run." + key) ?? "(none)"}, this run {Get(identity, key) ?? "(none)"}")
            .ToList();
        if (differences.Count > 0)
            throw new InvalidDataException($"{path} was written by another run and cannot be resumed here — {string.Join("; ", differences)}.");
        int epoch = int.Parse(saved.Metadata["epoch"], CultureInfo.InvariantCulture);
        if (epoch >= epochs) throw new UsageException($"--epochs {epochs}: the checkpoint already holds epoch {epoch}; ask for more epochs to continue.");
        checkpoints.Resume = new TrainingCheckpoint(epoch, saved.Model.Weights);
        checkpoints.EarlierEpochs = JsonSerializer.Deserialize<List<EpochReport>>(saved.Metadata["epochs"], EigenProCli.Json) ?? [];
        checkpoints._epochs.AddRange(checkpoints.EarlierEpochs);
        return checkpoints;
    }

    private static string? Get(IReadOnlyDictionary<string, string> d, string key) => d.TryGetValue(key, out var v) ? v : null;

    /// <summary>Saves the model after each epoch (atomically: an interrupted write leaves the previous checkpoint).</summary>
    public void OnEpoch(EpochReport report, KernelModel model)
    {
        _epochs.Add(report);
        var metadata = _identity.ToDictionary(kv => "run." + kv.Key, kv => kv.Value);
        metadata["epoch"] = report.Epoch.ToString(CultureInfo.InvariantCulture);
        metadata["epochs"] = JsonSerializer.Serialize(_epochs, EigenProCli.Json);
        model.Save(_path, metadata);
    }
}
