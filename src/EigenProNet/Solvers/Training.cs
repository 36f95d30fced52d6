using System.Text.Json.Serialization;
using EigenProNet.Models;
using EigenProNet.Preconditioning;

namespace EigenProNet.Solvers;

/// <summary>Where a training run is, reported after every batch through <see cref="IProgress{T}"/>.</summary>
/// <param name="Phase">"setup", "train" or "evaluate".</param>
/// <param name="Epoch">1-based epoch (0 during setup).</param>
/// <param name="Epochs">Planned number of epochs.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Samples">Samples processed in this epoch.</param>
/// <param name="Elapsed">Time spent in this epoch.</param>
public sealed record TrainingProgress(string Phase, int Epoch, int Epochs, int Batch, int Batches, long Samples, TimeSpan Elapsed)
{
    /// <summary>Throughput of this epoch so far.</summary>
    public double SamplesPerSecond => Elapsed.TotalSeconds > 0 ? Samples / Elapsed.TotalSeconds : 0;
}

/// <summary>Metrics after one epoch (spec eigenpro.md §1.10: MSE over all outputs, accuracy by argmax).</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Seconds">Training time of the epoch (evaluation excluded).</param>
/// <param name="EvaluationSeconds">Time spent evaluating after the epoch.</param>
/// <param name="TrainMse">MSE on the training-evaluation subset.</param>
/// <param name="TrainAccuracy">Accuracy on that subset (classification only).</param>
/// <param name="TestMse">MSE on the validation/test data, when given.</param>
/// <param name="TestAccuracy">Accuracy on the validation/test data (classification only).</param>
public sealed record EpochReport(int Epoch, double Seconds, double EvaluationSeconds, double TrainMse, double? TrainAccuracy,
    double? TestMse, double? TestAccuracy);

/// <summary>
/// Callbacks a solver makes while it trains — how the eigenvector-dynamics recorder (and anything else) watches
/// training without reaching into the solver. Every method has an empty default.
/// </summary>
public interface ITrainingObserver
{
    /// <summary>The preconditioner has been built (its eigensystem is readable from here on).</summary>
    void OnPreconditioner(NystromPreconditioner preconditioner) { }

    /// <summary>Training is about to start (t = 0): <paramref name="model"/> holds the initial weights (do not modify it).</summary>
    void OnStart(KernelModel model) { }

    /// <summary>Batch <paramref name="batch"/> (1-based) of epoch <paramref name="epoch"/> has updated the weights (do not modify the model).</summary>
    void OnBatch(int epoch, int batch, KernelModel model) { }

    /// <summary>An epoch has ended; <paramref name="model"/> is the current model (do not modify it).</summary>
    void OnEpoch(EpochReport report, KernelModel model) { }
}

/// <summary>
/// The hyper-parameters a solver chose (reported by the CLI's JSON summary): one record type per solver, each with
/// only the fields that solver has — <see cref="DirectSettings"/>, <see cref="EigenPro2Settings"/>,
/// <see cref="EigenPro3Settings"/>, <see cref="EigenPro4Settings"/>, and RFM's own. Serialized as the solver's type
/// (a new solver's record needs no registration here).
/// </summary>
[JsonConverter(typeof(SolverSettingsJsonConverter))]
public abstract record SolverSettings
{
    private protected SolverSettings(string solver) => Solver = solver;

    /// <summary>"direct", "eigenpro2", "eigenpro3", "eigenpro4" or "rfm".</summary>
    [JsonPropertyOrder(-3)]
    public string Solver { get; }
    /// <summary>Kernel description.</summary>
    [JsonPropertyOrder(-2)]
    public string Kernel { get; init; } = "";
    /// <summary>Training rows n.</summary>
    [JsonPropertyOrder(-1)]
    public int TrainingRows { get; init; }
    /// <summary>Settings that were adjusted (clamped sample sizes, capped batch), in words.</summary>
    [JsonPropertyOrder(1)]
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>Seconds of setup (preconditioner or factorisation).</summary>
    [JsonPropertyOrder(2)]
    public double SetupSeconds { get; init; }
    /// <summary>Seed.</summary>
    [JsonPropertyOrder(3)]
    public int Seed { get; init; }
}

/// <summary>Writes a settings record as its runtime type, whatever type it is declared as (settings are reported, not read back).</summary>
internal sealed class SolverSettingsJsonConverter : JsonConverter<SolverSettings>
{
    public override SolverSettings Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        throw new NotSupportedException("Solver settings are written as a report; they are not read back.");

    // The attribute sits on the abstract base only: serializing the derived type uses its own contract, no recursion.
    public override void Write(System.Text.Json.Utf8JsonWriter writer, SolverSettings value, System.Text.Json.JsonSerializerOptions options) =>
        System.Text.Json.JsonSerializer.Serialize(writer, value, value.GetType(), options);
}

/// <summary>What the direct solver chose.</summary>
public sealed record DirectSettings : SolverSettings
{
    /// <summary>Settings of a direct solve.</summary>
    public DirectSettings() : base("direct") { }
    /// <summary>Ridge λ.</summary>
    public double Ridge { get; init; }
    /// <summary>Diagonal jitter the Cholesky factorisation needed.</summary>
    public double Jitter { get; init; }
}

/// <summary>What every EigenPro version reports about its (data) preconditioner, batch and step.</summary>
public abstract record PreconditionedSettings : SolverSettings
{
    private protected PreconditionedSettings(string solver) : base(solver) { }
    /// <summary>Nyström subsample size s (EigenPro 3/4: of the training data).</summary>
    public int SubsampleSize { get; init; }
    /// <summary>Eigen-directions k the preconditioner flattens (the reference's top_q is k + 1, its tail λ_{k+1}).</summary>
    public int Directions { get; init; }
    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; }
    /// <summary>Step applied per sample (η/b).</summary>
    public double StepSize { get; init; }
    /// <summary>The reference's η (= step·b).</summary>
    public double Eta { get; init; }
    /// <summary>β of the step rule (<see cref="BetaEstimate"/> says which).</summary>
    public double Beta { get; init; }
    /// <summary>"kernel-diagonal" (the reference's max k(x, x)) or "preconditioned-diagonal" (SysML 2019).</summary>
    public string BetaEstimate { get; init; } = "";
    /// <summary>max k(x, x) over the subsample, whichever β the step rule used.</summary>
    public double MaxKernelDiagonal { get; init; }
    /// <summary>λ₁ of K(S, S)/s.</summary>
    public double TopEigenvalue { get; init; }
    /// <summary>The tail eigenvalue the preconditioner flattens down to.</summary>
    public double TailEigenvalue { get; init; }
    /// <summary>Critical batch size m* of the step rule.</summary>
    public int CriticalBatchSize { get; init; }
    /// <summary>Largest batch the memory budget allows.</summary>
    public int MemoryBatchLimit { get; init; }
}

/// <summary>What EigenPro 2 chose.</summary>
public sealed record EigenPro2Settings : PreconditionedSettings
{
    /// <summary>Settings of an EigenPro 2 run.</summary>
    public EigenPro2Settings() : base("eigenpro2") { }
    /// <summary>λ₁′ after preconditioning (m* = β/λ₁′ + 1).</summary>
    public double PreconditionedTopEigenvalue { get; init; }
}

/// <summary>What EigenPro 3 and 4 report beyond the data preconditioner: the centers and the projection.</summary>
public abstract record CenterModelSettings : PreconditionedSettings
{
    private protected CenterModelSettings(string solver) : base(solver) { }
    /// <summary>Number of centers p.</summary>
    public int Centers { get; init; }
    /// <summary>The projection: "exact" or "inexact".</summary>
    public string Projection { get; init; } = "";
    /// <summary>Nyström sample of the centers for the inexact projection (null when exact).</summary>
    public int? ProjectionSubsampleSize { get; init; }
    /// <summary>Batch size of the inexact projection's EigenPro iterations (null when exact).</summary>
    public int? ProjectionBatchSize { get; init; }
    /// <summary>The data Nyström sample is drawn from among the (sampled) centers, so K(X_b, S) is part of K(X_b, Z).</summary>
    public bool DataSampleInCenters { get; init; }
}

/// <summary>What EigenPro 3 chose.</summary>
public sealed record EigenPro3Settings : CenterModelSettings
{
    /// <summary>Settings of an EigenPro 3 run.</summary>
    public EigenPro3Settings() : base("eigenpro3") { }
}

/// <summary>What EigenPro 4 chose.</summary>
public sealed record EigenPro4Settings : CenterModelSettings
{
    /// <summary>Settings of an EigenPro 4 run.</summary>
    public EigenPro4Settings() : base("eigenpro4") { }
    /// <summary>Batches between delayed projections (T).</summary>
    public int ProjectionInterval { get; init; }
}

/// <summary>What a training run produced.</summary>
/// <param name="Model">The trained model.</param>
/// <param name="Epochs">One report per epoch (one in all for the direct solver).</param>
/// <param name="Settings">The hyper-parameters used.</param>
/// <param name="BestEpoch">With early stopping, the epoch whose weights the model holds.</param>
public sealed record TrainingResult(KernelModel Model, IReadOnlyList<EpochReport> Epochs, SolverSettings Settings, int? BestEpoch = null);
