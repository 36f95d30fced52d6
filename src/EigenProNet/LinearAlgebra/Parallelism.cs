namespace EigenProNet.LinearAlgebra;

/// <summary>Fork-join helpers for the numeric routines; the thread count comes from the caller's <see cref="ComputeContext"/>.</summary>
internal static class Parallelism
{
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
