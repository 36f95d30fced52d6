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

    /// <summary>Spins (then yields) until <paramref name="counter"/> reaches <paramref name="target"/>: the waits are short.</summary>
    internal static void WaitFor(ref int counter, int target)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref counter) < target) spin.SpinOnce(sleep1Threshold: -1);   // never a 1 ms sleep
    }

    /// <summary>The contiguous share [start, end) of <paramref name="count"/> items that worker t of n takes.</summary>
    internal static (int Start, int End) Share(int count, int t, int n)
    {
        long start = (long)count * t / n, end = (long)count * (t + 1) / n;
        return ((int)start, (int)end);
    }

    /// <summary>
    /// The share [start, end) of <paramref name="count"/> rows of an upper triangle (row q holds count − q entries)
    /// that worker t of n takes, by equal areas: worker t starts where the remaining area is (1 − t/n) of the whole.
    /// </summary>
    internal static (int Start, int End) ShareTriangle(int count, int t, int n)
    {
        int start = t == 0 ? 0 : count - (int)Math.Round(count * Math.Sqrt(1 - (double)t / n));
        int end = t == n - 1 ? count : count - (int)Math.Round(count * Math.Sqrt(1 - (double)(t + 1) / n));
        return (start, end);
    }
}

/// <summary>
/// A fork-join team of dedicated threads for thousands of short parallel steps in a row (the tridiagonalisation's
/// symmetric product, once per column): Parallel.For costs 7–15 µs a call, a tenth of such a step, while a worker
/// that spins a little between steps starts within a microsecond. A worker idle for longer than its spin blocks, so
/// the team does not compete with other parallel work in between (the trailing GEMM). Dispose to end the threads.
/// </summary>
internal sealed class SpinTeam : IDisposable
{
    /// <summary>How long an idle worker spins before it blocks: longer than the caller's work between two steps.</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5_000;   // 200 µs

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private Action<int>? _body;
    private int _generation;   // one more per step; workers run the body of each generation once
    private int _finished;     // workers done with the current step
    private bool _stopping;
    private Exception? _failure;

    /// <summary>A team of <paramref name="threads"/> (the caller of <see cref="Run"/> is member 0).</summary>
    public SpinTeam(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int t = 1; t < threads; t++)
        {
            int member = t;
            _workers[t - 1] = new Thread(() => Work(member)) { IsBackground = true, Name = $"EigenProNet spin team {member}" };
            _workers[t - 1].Start();
        }
    }

    public int Threads { get; }

    /// <summary>Runs body(t) for t in [0, Threads): t = 0 on the caller; returns when all are done, rethrowing the first failure.</summary>
    public void Run(Action<int> body)
    {
        if (_workers.Length == 0) { body(0); return; }
        _failure = null;
        _body = body;
        Volatile.Write(ref _finished, 0);
        lock (_gate)
        {
            _generation++;
            Monitor.PulseAll(_gate);   // wakes the workers that stopped spinning; the spinning ones see the generation
        }
        try { body(0); }
        finally
        {
            Parallelism.WaitFor(ref _finished, _workers.Length);
            _body = null;
        }
        if (_failure is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
    }

    private void Work(int member)
    {
        int seen = 0;
        while (true)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _generation) == seen && System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(4);
            lock (_gate)
            {
                while (_generation == seen && !_stopping) Monitor.Wait(_gate);
                if (_stopping) return;
                seen = _generation;
            }
            try { _body!(member); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            Interlocked.Increment(ref _finished);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var worker in _workers) worker.Join();
    }
}
