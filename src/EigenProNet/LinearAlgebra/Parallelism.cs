namespace EigenProNet.LinearAlgebra;

/// <summary>How many threads the numeric routines may use (the CLI's <c>--threads</c>).</summary>
public static class Parallelism
{
    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>Upper bound on worker threads for GEMM and kernel evaluation; defaults to the core count.</summary>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "Expected at least 1 thread.");
            s_maxThreads = value;
        }
    }

    /// <summary>Runs body(t) for t in [0, threads) in parallel (inline when threads == 1).</summary>
    internal static void Run(int threads, Action<int> body)
    {
        if (threads <= 1) { body(0); return; }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }

    /// <summary>The contiguous share [start, end) of <paramref name="count"/> items that worker t of n takes.</summary>
    internal static (int Start, int End) Share(int count, int t, int n)
    {
        long start = (long)count * t / n, end = (long)count * (t + 1) / n;
        return ((int)start, (int)end);
    }
}
