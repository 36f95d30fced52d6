using System.Diagnostics;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Benchmarks;

/// <summary>The micro-benchmarks behind <c>eigenpro bench</c>: GEMM and kernel-block evaluation.</summary>
public static class Benchmarks
{
    /// <summary>C = A·B for square N×N float32 matrices; best of <paramref name="repeats"/> after one warm-up.</summary>
    public static BenchmarkResult Gemm(int size, ComputeContext context, int repeats = 5) => Gemm(size, size, size, false, context, repeats);

    /// <summary>
    /// C = A·op(B) with A m×k: op(B) = B (k×n) or, with <paramref name="transposeB"/>, Bᵀ for B n×k (a training batch
    /// against the centers, as every kernel block computes it); best of <paramref name="repeats"/> after one warm-up.
    /// </summary>
    public static BenchmarkResult Gemm(int m, int k, int n, bool transposeB, ComputeContext context, int repeats = 5)
    {
        if (m < 1 || k < 1 || n < 1) throw new ArgumentOutOfRangeException(nameof(m), $"Expected m, k, n >= 1, found {m}, {k}, {n}.");
        var a = Matrix.RandomNormal(m, k, 1);
        var b = transposeB ? Matrix.RandomNormal(n, k, 2) : Matrix.RandomNormal(k, n, 2);
        var c = new Matrix(m, n);
        var tb = transposeB ? Transpose.Yes : Transpose.No;
        double seconds = Best(repeats, () => LinearAlgebra.Gemm.Compute(Transpose.No, tb, 1f, a, b, 0f, c, context));
        double peak = PeakProbe.MeasureGflops(context);
        double gflops = 2.0 * m * k * n / seconds / 1e9;
        return new BenchmarkResult("gemm", $"{m}x{k}x{n}{(transposeB ? ",B transposed" : "")}", seconds, gflops, peak, gflops / peak, context.Threads,
            context.Path.ToString(), Blocking(GemmKernel<float>.For(context.Path)));
    }

    /// <summary>
    /// C = A·B for square N×N float64 matrices (the eigensolver's GEMM). The peak beside it is the fp32 FMA peak; the
    /// fp64 peak is half of it.
    /// </summary>
    public static BenchmarkResult DoubleGemm(int size, ComputeContext context, int repeats = 3)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "Expected size >= 1.");
        var rng = new Random(1);
        double[] Fill() { var x = new double[(long)size * size]; for (long i = 0; i < x.Length; i++) x[i] = rng.NextDouble() - 0.5; return x; }
        var a = DoubleBlock.Of(Fill(), size, size);
        var b = DoubleBlock.Of(Fill(), size, size);
        var c = DoubleBlock.Of(new double[(long)size * size], size, size);
        double seconds = Best(repeats, () => LinearAlgebra.DoubleGemm.Compute(Transpose.No, Transpose.No, 1, a, b, 0, c, context: context));
        double peak = PeakProbe.MeasureGflops(context);
        double gflops = 2.0 * size * size * size / seconds / 1e9;
        return new BenchmarkResult("gemm:double", $"{size}x{size}x{size}", seconds, gflops, peak, gflops / peak, context.Threads,
            context.Path.ToString(), new Dictionary<string, double>(Blocking(GemmKernel<double>.For(context.Path))) { ["fraction_of_fp64_peak"] = 2 * gflops / peak });
    }

    /// <summary>
    /// K(A, B) for A (rows × dim) and B (cols × dim) — default the CIFAR-10 shape (2000×3072)·(3072×5000) — and the
    /// plain GEMM A·Bᵀ of the same shape, so the elementwise overhead of the kernel is reported as a ratio.
    /// </summary>
    public static BenchmarkResult Kernel(string kind, int rows, int cols, int dim, ComputeContext context, int repeats = 3)
    {
        Kernel kernel = Create(kind, dim);
        // Pixel-like data in [0, 1] so the distance and arc-cosine tails see realistic values.
        var a = Uniform(rows, dim, 1);
        var b = Uniform(cols, dim, 2);
        var ka = kernel.Prepare(a, context: context);
        var kb = kernel.Prepare(b, context: context);
        var output = new Matrix(rows, cols);
        double kernelSeconds = Best(repeats, () => kernel.Evaluate(ka, kb, output, context));
        double gemmSeconds = Best(repeats, () => LinearAlgebra.Gemm.Compute(Transpose.No, Transpose.Yes, 1f, a, b, 0f, output, context));
        double peak = PeakProbe.MeasureGflops(context);
        double flops = 2.0 * rows * cols * dim;
        double gflops = flops / kernelSeconds / 1e9;
        return new BenchmarkResult($"kernel:{kernel.Name}", $"{rows}x{cols}x{dim}", kernelSeconds, gflops, peak, gflops / peak, context.Threads,
            context.Path.ToString(), new Dictionary<string, double>
            {
                ["gemm_seconds"] = gemmSeconds,
                ["gemm_gflops"] = flops / gemmSeconds / 1e9,
                ["gemm_fraction_of_peak"] = flops / gemmSeconds / 1e9 / peak,
                ["kernel_to_gemm_time_ratio"] = kernelSeconds / gemmSeconds,
            });
    }

    /// <summary>
    /// The fused, memory-bounded K(A, B)·W every solver runs per batch — default EigenPro 2's Fashion-MNIST shape:
    /// a 2000-row batch against 60 000 centers of dimension 784 with 10 outputs — beside the plain GEMM A·Bᵀ.
    /// </summary>
    public static BenchmarkResult Multiply(string kind, int rows, int cols, int dim, int outputs, ComputeContext context, int repeats = 3)
    {
        Kernel kernel = Create(kind, dim);
        var a = Uniform(rows, dim, 1);
        var b = Uniform(cols, dim, 2);
        var w = Matrix.RandomNormal(cols, outputs, 3);
        var ka = kernel.Prepare(a, context: context);
        var kb = kernel.Prepare(b, context: context);
        var output = new Matrix(rows, outputs);
        double seconds = Best(repeats, () => kernel.Multiply(ka, kb, w, output, context: context));
        // The centers packed once for the GEMM, as EigenPro 2 holds its training rows.
        var kbPacked = kb.WithPackedFeatures(context);
        double packedSeconds = Best(repeats, () => kernel.Multiply(ka, kbPacked, w, output, context: context));
        var gemmOut = new Matrix(rows, Math.Min(cols, 5000));
        var bPart = b.View.RowBlock(0, gemmOut.Columns);
        double gemmSeconds = Best(repeats, () => LinearAlgebra.Gemm.Compute(Transpose.No, Transpose.Yes, 1f, a, bPart, 0f, gemmOut, context))
            * cols / gemmOut.Columns;
        double peak = PeakProbe.MeasureGflops(context);
        double flops = 2.0 * rows * cols * dim;
        double gflops = flops / seconds / 1e9;
        return new BenchmarkResult($"multiply:{kernel.Name}", $"{rows}x{cols}x{dim}x{outputs}", seconds, gflops, peak, gflops / peak, context.Threads,
            context.Path.ToString(), new Dictionary<string, double>
            {
                ["gemm_seconds"] = gemmSeconds,
                ["gemm_fraction_of_peak"] = flops / gemmSeconds / 1e9 / peak,
                ["multiply_to_gemm_time_ratio"] = seconds / gemmSeconds,
                ["packed_centers_seconds"] = packedSeconds,
                ["packed_centers_fraction_of_peak"] = flops / packedSeconds / 1e9 / peak,
            });
    }

    /// <summary>
    /// The AGOP of a kernel predictor on n prepared points with c outputs (RFM's update on CIFAR-10 by default: n = 5 000,
    /// d = 3 072, c = 10, a full Mahalanobis M), with the time of its parts' GEMMs counted as its flops:
    /// 2·n²·d (gradient weights) + 2·n·c·n·d (gradients) + n·c·d² (their Gram) + 4·d³ (the sandwich by M's factor).
    /// </summary>
    public static BenchmarkResult Agop(int n, int dim, int outputs, ComputeContext context, int repeats = 1)
    {
        var kernel = new MahalanobisLaplaceKernel(10, DiagonallyDominant(dim));
        var x = Uniform(n, dim, 1);
        var rows = kernel.Prepare(x, context: context);
        var alpha = Matrix.RandomNormal(n, outputs, 2);
        double seconds = Best(repeats, () => FeatureLearning.Agop.Compute(rows, alpha, rows, context: context));
        double peak = PeakProbe.MeasureGflops(context);
        double flops = 2.0 * n * n * dim + 2.0 * n * outputs * n * dim + (double)n * outputs * dim * dim + 4.0 * dim * dim * dim;
        double gflops = flops / seconds / 1e9;
        return new BenchmarkResult("agop:mahalanobis", $"{n}x{dim}x{outputs}", seconds, gflops, peak, gflops / peak, context.Threads,
            context.Path.ToString(), new Dictionary<string, double> { ["peak_gflop_seconds"] = seconds * peak });
    }

    /// <summary>
    /// Top-k (k = n: full) eigenpairs of an n×n Laplace kernel matrix K/n of pixel-like data, with the largest
    /// relative residual ‖Av − λv‖ / ‖A‖_F over the returned pairs and the largest entry of |VᵀV − I| (in float64).
    /// </summary>
    public static BenchmarkResult Eigh(int n, int k, ComputeContext context, string? saveMatrix = null)
    {
        if (n < 1 || k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"Expected 1 <= k <= n, found n = {n}, k = {k}.");
        var x = Uniform(n, 256, 4);
        var a = new LaplaceKernel(10).Evaluate(x, x, context);
        System.Numerics.Tensors.TensorPrimitives.Divide(a.AsSpan(), n, a.AsSpan());
        if (saveMatrix is not null) Data.Npy.Write(saveMatrix, a);
        // JIT warm-up on a small matrix of the same kind (same path: all pairs, or the same fraction of them), then
        // the best of two runs up to n = 2500 and one run beyond, as the LAPACK references are timed.
        var small = Uniform(Math.Min(n, 300), 256, 6);
        var warm = new LaplaceKernel(10).Evaluate(small, small, context);
        SymmetricEigen.Top(warm, Math.Max(1, (int)((long)k * warm.Rows / n)), context: context);
        // All pairs go through Full, which reports its phases: those of the fastest run are printed beside its time.
        EigenDecomposition eig = null!;
        double seconds = double.MaxValue;
        List<(string Name, double Seconds)> phases = [];
        for (int run = 0; run < (n <= 2500 ? 2 : 1); run++)
        {
            var these = new List<(string Name, double Seconds)>();
            var sw = Stopwatch.StartNew();
            eig = k == n
                ? SymmetricEigen.Full(a, context, ReductionPrecision.Single, (name, s) => these.Add((name, s)))
                : SymmetricEigen.Top(a, k, context: context);
            double elapsed = sw.Elapsed.TotalSeconds;
            if (elapsed < seconds) (seconds, phases) = (elapsed, these);
        }
        var av = LinearAlgebra.Gemm.Multiply(a, eig.Vectors);
        double normA = System.Numerics.Tensors.TensorPrimitives.Norm(a.AsSpan());
        double maxResidual = 0;
        for (int j = 0; j < k; j++)
        {
            double r = 0;
            for (int i = 0; i < n; i++) { double t = av[i, j] - eig.Values[j] * eig.Vectors[i, j]; r += t * t; }
            maxResidual = Math.Max(maxResidual, Math.Sqrt(r) / normA);
        }
        var v = new double[(long)n * k];
        for (long i = 0; i < v.Length; i++) v[i] = eig.Vectors.Data[i];
        var gram = new double[(long)k * k];
        LinearAlgebra.DoubleGemm.Compute(Transpose.Yes, Transpose.No, 1, DoubleBlock.Of(v, n, k), DoubleBlock.Of(v, n, k), 0,
            DoubleBlock.Of(gram, k, k));
        double maxOrthogonality = 0;
        for (int p = 0; p < k; p++)
            for (int q = 0; q < k; q++)
                maxOrthogonality = Math.Max(maxOrthogonality, Math.Abs(gram[(long)p * k + q] - (p == q ? 1 : 0)));
        // No GFLOP/s: the work of the divide and conquer depends on deflation. The peak beside the time makes it
        // comparable across machines (seconds × peak).
        double peak = PeakProbe.MeasureGflops(context);
        var extra = new Dictionary<string, double>
        {
            ["peak_gflop_seconds"] = seconds * peak,
            ["max_residual"] = maxResidual,
            ["max_orthogonality_error"] = maxOrthogonality,
            ["top_eigenvalue"] = eig.Values[0],
        };
        foreach (var (name, s) in phases) extra[$"{name}_seconds"] = s;
        return new BenchmarkResult("eigh", $"n={n},k={k}", seconds, 0, peak, 0, context.Threads, context.Path.ToString(), extra);
    }

    /// <summary>
    /// Cholesky factorisation of an n×n Laplace kernel matrix K/n + 1e-3·I, then a solve with r right-hand sides:
    /// seconds of the factorisation in place (n³/3 flops), of <c>Factor</c> with its validation and copy, the solve's
    /// seconds, and the relative residual ‖A·X − B‖_F/‖B‖_F.
    /// </summary>
    public static BenchmarkResult Cholesky(int n, int rhs, ComputeContext context)
    {
        if (n < 1 || rhs < 1) throw new ArgumentOutOfRangeException(nameof(n), $"Expected n >= 1 and rhs >= 1, found {n}, {rhs}.");
        var x = Uniform(n, 256, 4);
        var a = new LaplaceKernel(10).Evaluate(x, x, context);
        System.Numerics.Tensors.TensorPrimitives.Divide(a.AsSpan(), n, a.AsSpan());
        for (int i = 0; i < n; i++) a[i, i] += 1e-3f;
        var b = Matrix.RandomNormal(n, rhs, 5);
        // In place (LAPACK's spotrf: the headline), on a copy of A refreshed before each run outside the timing, then
        // Factor, which also validates and copies A into a fresh n × n matrix; each warmed up, best of three.
        var work = new Matrix(n, n);
        double seconds = double.MaxValue;
        for (int r = 0; r < 4; r++)
        {
            a.AsSpan().CopyTo(work.AsSpan());
            var sw = Stopwatch.StartNew();
            LinearAlgebra.Cholesky.FactorInPlace(work, context);
            if (r > 0) seconds = Math.Min(seconds, sw.Elapsed.TotalSeconds);
        }
        CholeskyFactor factor = null!;
        double copySeconds = Best(3, () => factor = LinearAlgebra.Cholesky.Factor(a, context: context));
        var solveWatch = Stopwatch.StartNew();
        var solution = factor.Solve(b);
        double solveSeconds = solveWatch.Elapsed.TotalSeconds;
        var ax = LinearAlgebra.Gemm.Multiply(a, solution);
        double r2 = 0, b2 = 0;
        for (long i = 0; i < b.Data.Length; i++) { double t = ax.Data[i] - b.Data[i]; r2 += t * t; b2 += (double)b.Data[i] * b.Data[i]; }
        double peak = PeakProbe.MeasureGflops(context);
        double flops = n * (double)n * n / 3;
        double gflops = flops / seconds / 1e9;
        return new BenchmarkResult("cholesky", $"n={n},rhs={rhs}", seconds, gflops, peak, gflops / peak, context.Threads, context.Path.ToString(),
            new Dictionary<string, double>
            {
                ["factor_with_copy_seconds"] = copySeconds,
                ["factor_with_copy_fraction_of_peak"] = flops / copySeconds / 1e9 / peak,
                ["solve_seconds"] = solveSeconds,
                ["relative_residual"] = Math.Sqrt(r2 / b2),
                ["jitter"] = factor.Jitter,
            });
    }

    /// <summary>The register tile and cache blocking the GEMM derived for this machine (with the caches it read).</summary>
    private static Dictionary<string, double> Blocking<T>(GemmKernel<T> k) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => new()
    {
        ["mr"] = k.MR, ["nr"] = k.NR, ["kc"] = k.KC, ["mc"] = k.MC, ["nc"] = k.NC,
        ["l1d_kib"] = CacheSizes.Current.L1Data / 1024.0, ["l2_kib"] = CacheSizes.Current.L2 / 1024.0,
    };

    /// <summary>The machine's FMA peak alone.</summary>
    public static BenchmarkResult Peak(ComputeContext context)
    {
        double peak = PeakProbe.MeasureGflops(context);
        return new BenchmarkResult("peak", "fma-chains", 0, peak, peak, 1, context.Threads, context.Path.ToString(),
            new Dictionary<string, double>());
    }

    /// <summary>The kernels by the names the CLI uses.</summary>
    public static Kernel Create(string kind, int dim) => kind switch
    {
        "laplace" => new LaplaceKernel(20),
        "gaussian" => new GaussianKernel(20),
        "ntk" => new NtkReluKernel(depth: 2),
        "mahalanobis" => new MahalanobisLaplaceKernel(20, DiagonallyDominant(dim)),
        _ => throw new ArgumentException($"Unknown kernel '{kind}'; expected laplace, gaussian, ntk or mahalanobis.", nameof(kind)),
    };

    private static Matrix DiagonallyDominant(int dim)
    {
        // A symmetric positive-definite M: identity plus a small random symmetric part.
        var m = Matrix.RandomNormal(dim, dim, 3, 0.1f / MathF.Sqrt(dim));
        for (int i = 0; i < dim; i++)
        {
            for (int j = 0; j < i; j++) m[i, j] = m[j, i];
            m[i, i] = 1f;
        }
        return m;
    }

    /// <summary>
    /// One SGD epoch of a ReLU network (default issue 21's shape: 5 000 rows of CIFAR-10's 3 072 pixel-like features,
    /// width 4 096, depth 2, batch 128, 10 outputs) and one dynamics snapshot of it: the empirical NTK on s rows and its
    /// top-k eigensystem, as the recorder computes them. Seconds is the sum; the peak-GFLOP-s product is in Extra.
    /// </summary>
    public static BenchmarkResult Network(int rows, int dim, int width, int depth, int batch, int outputs, int subsample, int tracked, ComputeContext context)
    {
        var x = Uniform(rows, dim, 1);
        var labels = new int[rows];
        for (int i = 0; i < rows; i++) labels[i] = i % outputs;
        var y = Data.Preprocessing.OneHot(labels, outputs);
        var trainer = new Networks.NetworkTrainer(new Networks.NetworkTrainerOptions
        {
            Width = width, Depth = depth, BatchSize = batch, Epochs = 1, LearningRate = 0.5, EvaluationRows = 1, Compute = context,
        });
        var clock = Stopwatch.StartNew();
        var result = trainer.Fit(x, y);
        double epochSeconds = result.Epochs[0].Seconds;
        var s = x.RowBlock(0, Math.Min(subsample, rows)).ToMatrix();
        clock.Restart();
        var theta = Networks.EmpiricalNtk.Compute(result.Network, s, context);
        double ntkSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        System.Numerics.Tensors.TensorPrimitives.Multiply(theta.Data, 1f / s.Rows, theta.Data);
        SymmetricEigen.Top(theta, Math.Min(tracked, s.Rows - 1), context: context);
        double eigSeconds = clock.Elapsed.TotalSeconds;
        double peak = PeakProbe.MeasureGflops(context);
        // The epoch's multiply-adds: forward d·w + (D−1)·w² + w·c per row, backward twice that less the input layer's dX.
        double forward = 2.0 * rows * ((double)dim * width + (depth - 1.0) * width * width + (double)width * outputs);
        double epochFlops = 3 * forward - 2.0 * rows * dim * width;
        double seconds = epochSeconds + ntkSeconds + eigSeconds;
        return new BenchmarkResult("network", $"{rows}x{dim} w={width} D={depth} b={batch}, snapshot s={s.Rows} k={tracked}", seconds,
            epochFlops / epochSeconds / 1e9, peak, epochFlops / epochSeconds / 1e9 / peak, context.Threads, context.Path.ToString(),
            new Dictionary<string, double>
            {
                ["epoch_seconds"] = epochSeconds,
                ["empirical_ntk_seconds"] = ntkSeconds,
                ["eigensystem_seconds"] = eigSeconds,
                ["peak_gflop_seconds"] = seconds * peak,
                ["target_peak_gflop_seconds"] = 20000,
            });
    }

    private static Matrix Uniform(int rows, int cols, int seed)
    {
        var m = new Matrix(rows, cols);
        var rng = new Random(seed);
        for (int i = 0; i < m.Data.Length; i++) m.Data[i] = rng.NextSingle();
        return m;
    }

    private static double Best(int repeats, Action action)
    {
        action(); // warm-up: JIT, page faults, pool buffers
        double best = double.MaxValue;
        for (int r = 0; r < Math.Max(1, repeats); r++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
