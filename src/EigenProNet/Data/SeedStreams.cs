namespace EigenProNet.Data;

/// <summary>
/// Independent random streams from one user seed: each purpose (and each index within it, e.g. a layer or an epoch)
/// gets its own seed, mixed by SplitMix64 so that nearby seeds, purposes and indices give unrelated streams — instead
/// of one generator shared by unrelated choices, or ad-hoc XOR constants.
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
