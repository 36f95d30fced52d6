using System.Diagnostics;
using System.Runtime.CompilerServices;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Benchmarks;

/// <summary>
/// Measures this machine's fp32 fused-multiply-add peak: 12 independent FMA chains per thread on the widest
/// vector path, on every thread, for a fixed time. Benchmarks report their GFLOP/s beside it so that figures from
/// noisy shared machines compare as ratios.
/// </summary>
public static class PeakProbe
{
    /// <summary>Peak GFLOP/s over <paramref name="threads"/> threads (best of a few short rounds).</summary>
    public static double MeasureGflops(int threads, double seconds = 0.3)
    {
        double best = 0;
        for (int round = 0; round < 3; round++)
        {
            // Threads start together behind a barrier and each reports its own rate; summing rates of threads that
            // ran concurrently gives the machine's rate without counting thread start-up as idle time.
            double totalRate = 0;
            using var start = new Barrier(threads);
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                workers[t] = new Thread(() =>
                {
                    start.SignalAndWait();
                    var sw = Stopwatch.StartNew();
                    long f = Chains(seconds / 3);
                    double rate = f / sw.Elapsed.TotalSeconds / 1e9;
                    lock (start) totalRate += rate;
                });
                workers[t].Start();
            }
            foreach (var w in workers) w.Join();
            best = Math.Max(best, totalRate);
        }
        return best;
    }

    private static long Chains(double seconds) => SimdCapabilities.Best switch
    {
        SimdPath.Vector512 => Chains<Vec512>(seconds),
        SimdPath.Vector256 => Chains<Vec256>(seconds),
        SimdPath.Vector128 => Chains<Vec128>(seconds),
        _ => Chains<Vec1>(seconds),
    };

    private static long Chains<V>(double seconds) where V : struct, IFloatVector<V>
    {
        const int inner = 1 << 14;
        long flops = 0;
        var sw = Stopwatch.StartNew();
        float sink = 0;
        var scratch = new float[V.Count];
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            sink += Run<V>(inner, scratch);
            flops += 2L * 12 * V.Count * inner;
        }
        return sink == 42 ? flops + 1 : flops;
    }

    /// <summary>12 independent FMA chains: enough in flight to cover FMA latency on two pipes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Run<V>(int n, float[] scratch) where V : struct, IFloatVector<V>
    {
        V m = V.Broadcast(0.999999f), a = V.Broadcast(1e-7f);
        V x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
        for (int i = 0; i < n; i++)
        {
            x0 = V.MultiplyAdd(x0, m, a); x1 = V.MultiplyAdd(x1, m, a); x2 = V.MultiplyAdd(x2, m, a);
            x3 = V.MultiplyAdd(x3, m, a); x4 = V.MultiplyAdd(x4, m, a); x5 = V.MultiplyAdd(x5, m, a);
            x6 = V.MultiplyAdd(x6, m, a); x7 = V.MultiplyAdd(x7, m, a); x8 = V.MultiplyAdd(x8, m, a);
            x9 = V.MultiplyAdd(x9, m, a); x10 = V.MultiplyAdd(x10, m, a); x11 = V.MultiplyAdd(x11, m, a);
        }
        V sum = V.Add(V.Add(V.Add(x0, x1), V.Add(x2, x3)), V.Add(V.Add(x4, x5), V.Add(x6, x7)));
        sum = V.Add(sum, V.Add(V.Add(x8, x9), V.Add(x10, x11)));
        fixed (float* p = scratch) V.Store(sum, p);
        return scratch[0];
    }
}
