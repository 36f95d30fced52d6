namespace EigenProNet.Benchmarks;

/// <summary>One benchmark measurement. Serialised in snake_case by the CLI (<c>--json</c>).</summary>
/// <param name="Benchmark">What was measured, e.g. "gemm" or "kernel:laplace".</param>
/// <param name="Shape">Problem shape, e.g. "2048x2048x2048" (M×N×K).</param>
/// <param name="Seconds">Best wall time of the repetitions.</param>
/// <param name="Gflops">Useful floating-point work per second (GEMM-equivalent 2·M·N·K for kernels).</param>
/// <param name="PeakGflops">This machine's fp32 FMA peak, measured in the same run.</param>
/// <param name="FractionOfPeak">Gflops / PeakGflops.</param>
/// <param name="Threads">Worker threads used.</param>
/// <param name="SimdPath">Vector path used.</param>
/// <param name="Extra">Benchmark-specific figures (e.g. the GEMM time of the same shape, the ratio to it).</param>
public sealed record BenchmarkResult(
    string Benchmark, string Shape, double Seconds, double Gflops, double PeakGflops, double FractionOfPeak,
    int Threads, string SimdPath, IReadOnlyDictionary<string, double> Extra);
