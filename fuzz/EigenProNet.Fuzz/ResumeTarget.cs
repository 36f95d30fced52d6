using EigenProNet.Data;
using EigenProNet.Dynamics;
using EigenProNet.LinearAlgebra;
using EigenProNet.Networks;

namespace EigenProNet.Fuzz;

/// <summary>
/// The <c>dynamics-resume</c> target: a network study's run directory (run.json, the pinned subsample, every
/// snapshot's arrays, the kernel matrices and the last epoch's state.npz) continued for one more epoch, as
/// <c>eigenpro dynamics --resume</c> does. The study is tiny and fixed, so the seed run directory (<see cref="WriteSeed"/>)
/// resumes; a mutated one must resume, or be refused with the reader's error or the study's own refusal to continue
/// a run of other settings.
/// </summary>
public static class ResumeTarget
{
    private const int Rows = 24, Features = 4, Classes = 2;
    private static readonly ComputeContext OneThread = new(threads: 1);

    private static DynamicsStudyPlan Plan(int epochs)
    {
        var x = new Matrix(Rows, Features);
        var labels = new int[Rows];
        for (int i = 0; i < Rows; i++)
        {
            labels[i] = i % Classes;
            for (int j = 0; j < Features; j++) x[i, j] = MathF.Sin(1.7f * i + j) + labels[i];
        }
        var train = new Dataset(x, labels, Classes, "fuzz");
        var data = new DynamicsStudyData("fuzz", train, null, Scaling.None, PinnedSubsample.Draw(train, 8, seed: 1), Seed: 1);
        var network = new NetworkTrainerOptions { Width = 8, Depth = 1, Epochs = epochs, BatchSize = 8, Compute = OneThread };
        return DynamicsStudyPlan.Network(data, network, new DynamicsOptions { TrackedEigenvectors = 3, RecordSteps = [1], Compute = OneThread });
    }

    /// <summary>A run of one epoch in <paramref name="directory"/>: what the target resumes.</summary>
    public static void WriteSeed(string directory) => Plan(epochs: 1).Run(directory, overwrite: true);

    /// <summary>Resumes the run in <paramref name="directory"/> to two epochs.</summary>
    public static void Resume(string directory) => Plan(epochs: 2).Run(directory, resume: true);

    /// <summary>
    /// The reader's <see cref="DataFormatException"/>, the study's refusal (a plain <see cref="IOException"/>: other
    /// settings, no state to resume from) — not a file-system exception escaping a read the study should have guarded —
    /// the refusal of a request for no more epochs than the run has (an <see cref="ArgumentException"/> on "epochs": a
    /// forged run may claim more), or the trainer's <see cref="NetworkDivergedException"/> (a state that reads as valid
    /// parameters may diverge).
    /// </summary>
    public static bool IsDocumented(Exception e) =>
        e is DataFormatException or NetworkDivergedException or ArgumentException { ParamName: "epochs" } || e.GetType() == typeof(IOException);
}
