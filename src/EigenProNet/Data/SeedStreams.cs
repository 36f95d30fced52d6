namespace EigenProNet.Data;

/// <summary>
/// Independent random streams from one user seed: each purpose (and each index within it, e.g. a layer or an epoch)
/// gets its own seed, mixed by SplitMix64 so that nearby seeds, purposes and indices give unrelated streams — instead
/// of one generator shared by unrelated choices, or ad-hoc XOR constants. Every random choice of the library draws
/// from one of these; a component handed a seed derives its own streams from it, and a solver hands each component
/// either the user seed (when the component's purposes differ from its own) or a seed derived for that component.
/// </summary>
public static class SeedStreams
{
    /// <summary>Initial weights of a network layer (index: the layer).</summary>
    public const int NetworkWeights = 101;

    /// <summary>Initial biases of a network layer (index: the layer).</summary>
    public const int NetworkBiases = 102;

    /// <summary>The order of the training rows in an epoch (index: the epoch).</summary>
    public const int EpochShuffle = 103;

    /// <summary>The fixed subset of training rows scored after every epoch.</summary>
    public const int EvaluationRows = 104;

    /// <summary>The Nyström subsample a preconditioner draws from its points.</summary>
    public const int NystromSample = 105;

    /// <summary>The training rows EigenPro 3/4 take as centers.</summary>
    public const int CenterRows = 106;

    /// <summary>The seed given to the preconditioner of EigenPro 3/4's inexact projection (its own sample of the centers).</summary>
    public const int ProjectionPreconditioner = 107;

    /// <summary>The order of the centers in the inexact projection's EigenPro 2 epochs (one stream for the run).</summary>
    public const int ProjectionShuffle = 108;

    /// <summary>The rows RFM computes its AGOP on when the training set exceeds the cap.</summary>
    public const int AgopRows = 109;

    /// <summary>The subsample a dynamics study pins (index: the draw — 0 for the run, i for the resample protocol's i-th model).</summary>
    public const int StudySubsample = 110;

    /// <summary>The training rows kept when a command samples its training set.</summary>
    public const int TrainRows = 111;

    /// <summary>The test rows kept when a command samples its test set.</summary>
    public const int TestRows = 112;

    /// <summary>The rows held out for validation.</summary>
    public const int ValidationSplit = 113;

    /// <summary>The seed of the resample protocol's i-th model (index: i, from 1).</summary>
    public const int ResampleModel = 114;

    /// <summary>The seed of stream <paramref name="purpose"/>, number <paramref name="index"/>, of the user seed <paramref name="seed"/>.</summary>
    public static int Derive(int seed, int purpose, long index = 0)
    {
        ulong z = Mix((ulong)(uint)seed);
        z = Mix(z ^ (ulong)(uint)purpose);
        z = Mix(z ^ (ulong)index);
        return (int)(z >> 33);   // non-negative, as System.Random expects of a seed it keeps unchanged
    }

    /// <summary>A generator of stream <paramref name="purpose"/>, number <paramref name="index"/>.</summary>
    public static Random Create(int seed, int purpose, long index = 0) => new(Derive(seed, purpose, index));

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
