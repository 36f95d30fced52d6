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

    private static long Chains(double seconds)
    {
        const int inner = 1 << 14;
        long flops = 0;
        var sw = Stopwatch.StartNew();
        float sink = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            sink += SimdCapabilities.Best switch
            {
                SimdPath.Vector512 => Run512(inner),
                SimdPath.Vector256 => Run256(inner),
                _ => Run128(inner),
            };
            int lanes = SimdCapabilities.Best switch { SimdPath.Vector512 => 16, SimdPath.Vector256 => 8, _ => 4 };
            flops += 2L * 12 * lanes * inner;
        }
        return sink == 42 ? flops + 1 : flops;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run512(int n)
    {
        var m = Vector512.Create(0.999999f); var a = Vector512.Create(1e-7f);
        Vector512<float> x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
        for (int i = 0; i < n; i++)
        {
            x0 = Vector512.FusedMultiplyAdd(x0, m, a); x1 = Vector512.FusedMultiplyAdd(x1, m, a); x2 = Vector512.FusedMultiplyAdd(x2, m, a);
            x3 = Vector512.FusedMultiplyAdd(x3, m, a); x4 = Vector512.FusedMultiplyAdd(x4, m, a); x5 = Vector512.FusedMultiplyAdd(x5, m, a);
            x6 = Vector512.FusedMultiplyAdd(x6, m, a); x7 = Vector512.FusedMultiplyAdd(x7, m, a); x8 = Vector512.FusedMultiplyAdd(x8, m, a);
            x9 = Vector512.FusedMultiplyAdd(x9, m, a); x10 = Vector512.FusedMultiplyAdd(x10, m, a); x11 = Vector512.FusedMultiplyAdd(x11, m, a);
        }
        return Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run256(int n)
    {
        var m = Vector256.Create(0.999999f); var a = Vector256.Create(1e-7f);
        Vector256<float> x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
        for (int i = 0; i < n; i++)
        {
            x0 = Vector256.FusedMultiplyAdd(x0, m, a); x1 = Vector256.FusedMultiplyAdd(x1, m, a); x2 = Vector256.FusedMultiplyAdd(x2, m, a);
            x3 = Vector256.FusedMultiplyAdd(x3, m, a); x4 = Vector256.FusedMultiplyAdd(x4, m, a); x5 = Vector256.FusedMultiplyAdd(x5, m, a);
            x6 = Vector256.FusedMultiplyAdd(x6, m, a); x7 = Vector256.FusedMultiplyAdd(x7, m, a); x8 = Vector256.FusedMultiplyAdd(x8, m, a);
            x9 = Vector256.FusedMultiplyAdd(x9, m, a); x10 = Vector256.FusedMultiplyAdd(x10, m, a); x11 = Vector256.FusedMultiplyAdd(x11, m, a);
        }
        return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run128(int n)
    {
        var m = Vector128.Create(0.999999f); var a = Vector128.Create(1e-7f);
        Vector128<float> x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
        for (int i = 0; i < n; i++)
        {
            x0 = Vector128.FusedMultiplyAdd(x0, m, a); x1 = Vector128.FusedMultiplyAdd(x1, m, a); x2 = Vector128.FusedMultiplyAdd(x2, m, a);
            x3 = Vector128.FusedMultiplyAdd(x3, m, a); x4 = Vector128.FusedMultiplyAdd(x4, m, a); x5 = Vector128.FusedMultiplyAdd(x5, m, a);
            x6 = Vector128.FusedMultiplyAdd(x6, m, a); x7 = Vector128.FusedMultiplyAdd(x7, m, a); x8 = Vector128.FusedMultiplyAdd(x8, m, a);
            x9 = Vector128.FusedMultiplyAdd(x9, m, a); x10 = Vector128.FusedMultiplyAdd(x10, m, a); x11 = Vector128.FusedMultiplyAdd(x11, m, a);
        }
        return Vector128.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }
}
