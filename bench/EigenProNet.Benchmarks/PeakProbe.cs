using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Benchmarks;

/// <summary>
/// Measures this machine's fp32 fused-multiply-add peak: 12 independent FMA chains per thread on the widest
/// vector path, on every thread, for a fixed time. Benchmarks report their GFLOP/s beside it so that figures from
/// noisy shared machines compare as ratios.
/// </summary>
public static class PeakProbe
{
    /// <summary>Peak GFLOP/s over the threads of <paramref name="context"/> on its SIMD path (best of a few short rounds).</summary>
    public static double MeasureGflops(ComputeContext context, double seconds = 0.3)
    {
        int threads = context.Threads;
        var path = context.Path;
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
                    long f = Chains(path, seconds / 3);
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

    private static long Chains(SimdPath path, double seconds) => path switch
    {
        SimdPath.Vector512 => Chains<Simd512<float>, Vector512<float>>(seconds),
        SimdPath.Vector256 => Chains<Simd256<float>, Vector256<float>>(seconds),
        SimdPath.Vector128 => Chains<Simd128<float>, Vector128<float>>(seconds),
        _ => Chains<SimdScalar<float>, float>(seconds),
    };

    private static long Chains<O, V>(double seconds) where O : ISimdOps<V, float> where V : struct
    {
        const int inner = 1 << 14;
        long flops = 0;
        var sw = Stopwatch.StartNew();
        float sink = 0;
        var scratch = new float[O.Count];
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            sink += Run<O, V>(inner, scratch);
            flops += 2L * 12 * O.Count * inner;
        }
        return sink == 42 ? flops + 1 : flops;
    }

    /// <summary>12 independent FMA chains: enough in flight to cover FMA latency on two pipes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Run<O, V>(int n, float[] scratch) where O : ISimdOps<V, float> where V : struct
    {
        V m = O.Broadcast(0.999999f), a = O.Broadcast(1e-7f);
        V x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
        for (int i = 0; i < n; i++)
        {
            x0 = O.MultiplyAdd(x0, m, a); x1 = O.MultiplyAdd(x1, m, a); x2 = O.MultiplyAdd(x2, m, a);
            x3 = O.MultiplyAdd(x3, m, a); x4 = O.MultiplyAdd(x4, m, a); x5 = O.MultiplyAdd(x5, m, a);
            x6 = O.MultiplyAdd(x6, m, a); x7 = O.MultiplyAdd(x7, m, a); x8 = O.MultiplyAdd(x8, m, a);
            x9 = O.MultiplyAdd(x9, m, a); x10 = O.MultiplyAdd(x10, m, a); x11 = O.MultiplyAdd(x11, m, a);
        }
        V sum = O.Add(O.Add(O.Add(x0, x1), O.Add(x2, x3)), O.Add(O.Add(x4, x5), O.Add(x6, x7)));
        sum = O.Add(sum, O.Add(O.Add(x8, x9), O.Add(x10, x11)));
        fixed (float* p = scratch) O.Store(sum, p);
        return scratch[0];
    }
}
