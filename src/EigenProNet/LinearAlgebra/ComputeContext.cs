namespace EigenProNet.LinearAlgebra;

/// <summary>
/// How much of the machine a numeric routine may use: the number of worker threads and the SIMD path. It travels
/// with each call (every GEMM, kernel block, eigensolver and solver takes one), so two trainings in one process, or
/// tests running in parallel, never change each other's settings. Immutable.
/// </summary>
public sealed class ComputeContext
{
    /// <summary>Every core of this machine and its widest accelerated SIMD path.</summary>
    public static ComputeContext Default { get; } = new();

    /// <summary>A context with <paramref name="threads"/> worker threads (default: all cores) on <paramref name="path"/> (default: the widest).</summary>
    /// <exception cref="ArgumentOutOfRangeException">threads is below 1 or above the processor count of this machine.</exception>
    /// <exception cref="PlatformNotSupportedException">The path is not accelerated on this CPU.</exception>
    public ComputeContext(int? threads = null, SimdPath? path = null)
    {
        int t = threads ?? Environment.ProcessorCount;
        if (t < 1 || t > Environment.ProcessorCount)
            throw new ArgumentOutOfRangeException(nameof(threads), t,
                $"Expected 1 to {Environment.ProcessorCount} threads (the processors this process may use), found {t}.");
        var p = path ?? SimdCapabilities.Best;
        if (p > SimdCapabilities.Best)
            throw new PlatformNotSupportedException($"The {p} path is not accelerated on this CPU (best: {SimdCapabilities.Best}).");
        Threads = t;
        Path = p;
    }

    /// <summary>Upper bound on worker threads.</summary>
    public int Threads { get; }

    /// <summary>The SIMD path the hand-written loops run on.</summary>
    public SimdPath Path { get; }

    /// <summary>The same context with another thread count.</summary>
    public ComputeContext WithThreads(int threads) => new(threads, Path);

    /// <summary>The same context on another SIMD path.</summary>
    public ComputeContext WithPath(SimdPath path) => new(Threads, path);

    /// <inheritdoc/>
    public override string ToString() => $"{Threads} thread(s), {Path}";
}
