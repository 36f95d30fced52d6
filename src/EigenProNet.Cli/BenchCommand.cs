using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EigenProNet.Benchmarks;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro bench gemm|kernel|peak</c>.</summary>
internal static class BenchCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var bench = new Command("bench", "Micro-benchmarks; each reports GFLOP/s beside this machine's measured FMA peak.");
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout (human output goes to stderr)." };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)." };

        var size = new Option<int>("--size") { Description = "Matrix size N of the N×N×N product.", DefaultValueFactory = _ => 2048 };
        var precision = new Option<string>("--precision")
            { Description = "single (the kernels' GEMM) | double (the eigensolver's GEMM; peak beside it is the fp32 one, fp64 is half).", DefaultValueFactory = _ => "single" };
        precision.AcceptOnlyFromAmong("single", "double");
        var shape = new Option<string?>("--shape")
        {
            Description = "MxKxN: C = A·Bᵀ with A M×K and B N×K (a training batch against the centers), single precision (default: the square --size product).",
        };
        var gemm = new Command("gemm", "Square GEMM C = A·B, or the batch shape C = A·Bᵀ (--shape).") { size, shape, precision, json, threads };
        gemm.SetAction(p =>
        {
            int n = p.GetValue(size);
            if (n < 1) throw new UsageException($"--size must be at least 1, found {n}.");
            var t = EigenProCli.Compute(p.GetValue(threads));
            if (p.GetValue(shape) is { } text)
            {
                var dims = text.Split('x').Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : 0).ToArray();
                if (dims.Length != 3 || dims.Any(v => v < 1))
                    throw new UsageException($"--shape expects MxKxN with three positive integers (e.g. 2000x3072x5000), found '{text}'.");
                if (p.GetValue(precision) == "double") throw new UsageException("--shape measures the single-precision GEMM; drop --precision double.");
                return Report(Benchmarks.Benchmarks.Gemm(dims[0], dims[1], dims[2], true, t), p.GetValue(json), stdout, stderr);
            }
            var result = p.GetValue(precision) == "double" ? Benchmarks.Benchmarks.DoubleGemm(n, t) : Benchmarks.Benchmarks.Gemm(n, t);
            return Report(result, p.GetValue(json), stdout, stderr);
        });

        var kind = new Option<string>("--kind") { Description = "laplace | gaussian | ntk | mahalanobis", DefaultValueFactory = _ => "laplace" };
        kind.AcceptOnlyFromAmong("laplace", "gaussian", "ntk", "mahalanobis");
        var rows = new Option<int>("--rows") { Description = "Rows of A (batch).", DefaultValueFactory = _ => 2000 };
        var cols = new Option<int>("--cols") { Description = "Rows of B (centers).", DefaultValueFactory = _ => 5000 };
        var dim = new Option<int>("--dim") { Description = "Feature dimension.", DefaultValueFactory = _ => 3072 };
        var kernel = new Command("kernel", "Kernel block K(A, B) against the plain GEMM of the same shape (default: CIFAR-10 shape).")
            { kind, rows, cols, dim, json, threads };
        kernel.SetAction(p =>
        {
            int r = p.GetValue(rows), c = p.GetValue(cols), d = p.GetValue(dim);
            if (r < 1 || c < 1 || d < 1) throw new UsageException($"--rows, --cols and --dim must be at least 1, found {r}, {c}, {d}.");
            var result = Benchmarks.Benchmarks.Kernel(p.GetValue(kind)!, r, c, d, EigenProCli.Compute(p.GetValue(threads)));
            return Report(result, p.GetValue(json), stdout, stderr);
        });

        var mRows = new Option<int>("--rows") { Description = "Rows of A (the batch).", DefaultValueFactory = _ => 2000 };
        var mCols = new Option<int>("--cols") { Description = "Rows of B (the centers).", DefaultValueFactory = _ => 60000 };
        var mDim = new Option<int>("--dim") { Description = "Feature dimension.", DefaultValueFactory = _ => 784 };
        var mOut = new Option<int>("--outputs") { Description = "Columns of W (outputs).", DefaultValueFactory = _ => 10 };
        var mKind = new Option<string>("--kind") { Description = "laplace | gaussian | ntk | mahalanobis", DefaultValueFactory = _ => "laplace" };
        mKind.AcceptOnlyFromAmong("laplace", "gaussian", "ntk", "mahalanobis");
        var multiply = new Command("multiply",
            "The fused, memory-bounded K(A, B)·W of every training batch (default: EigenPro 2 on Fashion-MNIST) beside the plain GEMM A·Bᵀ.")
            { mKind, mRows, mCols, mDim, mOut, json, threads };
        multiply.SetAction(p =>
        {
            int r = p.GetValue(mRows), c = p.GetValue(mCols), d = p.GetValue(mDim), o = p.GetValue(mOut);
            if (r < 1 || c < 1 || d < 1 || o < 1)
                throw new UsageException($"--rows, --cols, --dim and --outputs must be at least 1, found {r}, {c}, {d}, {o}.");
            var result = Benchmarks.Benchmarks.Multiply(p.GetValue(mKind)!, r, c, d, o, EigenProCli.Compute(p.GetValue(threads)));
            return Report(result, p.GetValue(json), stdout, stderr);
        });

        var peak = new Command("peak", "This machine's fp32 FMA peak (12 independent FMA chains per thread).") { json, threads };
        peak.SetAction(p => Report(Benchmarks.Benchmarks.Peak(EigenProCli.Compute(p.GetValue(threads))), p.GetValue(json), stdout, stderr));

        var eighN = new Option<int>("--n") { Description = "Matrix size n.", DefaultValueFactory = _ => 2000 };
        var eighK = new Option<int?>("--k") { Description = "Number of top eigenpairs (default: all)." };
        var eighSave = new Option<string?>("--save-matrix")
            { Description = "Also write the n×n float32 matrix to this .npy file, to run a reference (NumPy/SciPy) on the same matrix (default: not saved)." };
        var eigh = new Command("eigh", "Top-k (default all) eigenpairs of an n×n Laplace kernel matrix: seconds and max residual ‖Av − λv‖/‖A‖_F.")
            { eighN, eighK, eighSave, json, threads };
        eigh.SetAction(p =>
        {
            int n = p.GetValue(eighN), k = p.GetValue(eighK) ?? n;
            if (n < 1 || k < 1 || k > n) throw new UsageException($"Expected 1 <= --k <= --n, found --n {n}, --k {k}.");
            return Report(Benchmarks.Benchmarks.Eigh(n, k, EigenProCli.Compute(p.GetValue(threads)), p.GetValue(eighSave)), p.GetValue(json), stdout, stderr);
        });

        var cholN = new Option<int>("--n") { Description = "Matrix size n.", DefaultValueFactory = _ => 2000 };
        var cholRhs = new Option<int>("--rhs") { Description = "Right-hand sides of the solve.", DefaultValueFactory = _ => 10 };
        var cholesky = new Command("cholesky",
            "Cholesky factorisation of an n×n Laplace kernel matrix K/n + 1e-3·I and a solve: seconds, GFLOP/s (n³/3) and relative residual.")
            { cholN, cholRhs, json, threads };
        cholesky.SetAction(p =>
        {
            int n = p.GetValue(cholN), r = p.GetValue(cholRhs);
            if (n < 1 || r < 1) throw new UsageException($"Expected --n and --rhs at least 1, found --n {n}, --rhs {r}.");
            return Report(Benchmarks.Benchmarks.Cholesky(n, r, EigenProCli.Compute(p.GetValue(threads))), p.GetValue(json), stdout, stderr);
        });

        var agopN = new Option<int>("--n") { Description = "Points (centers = sample points).", DefaultValueFactory = _ => 5000 };
        var agopDim = new Option<int>("--dim") { Description = "Feature dimension.", DefaultValueFactory = _ => 3072 };
        var agopOut = new Option<int>("--outputs") { Description = "Outputs c.", DefaultValueFactory = _ => 10 };
        var agop = new Command("agop", "RFM's AGOP update (gradient weights, gradients, their Gram, the sandwich by M's factor) for a full-M Laplace predictor.")
            { agopN, agopDim, agopOut, json, threads };
        agop.SetAction(p =>
        {
            int n = p.GetValue(agopN), d = p.GetValue(agopDim), c = p.GetValue(agopOut);
            if (n < 1 || d < 1 || c < 1) throw new UsageException($"--n, --dim and --outputs must be at least 1, found {n}, {d}, {c}.");
            return Report(Benchmarks.Benchmarks.Agop(n, d, c, EigenProCli.Compute(p.GetValue(threads))), p.GetValue(json), stdout, stderr);
        });

        var netRows = new Option<int>("--rows") { Description = "Training rows.", DefaultValueFactory = _ => 5000 };
        var netDim = new Option<int>("--dim") { Description = "Features.", DefaultValueFactory = _ => 3072 };
        var netWidth = new Option<int>("--width") { Description = "Hidden units per layer.", DefaultValueFactory = _ => 4096 };
        var netDepth = new Option<int>("--depth") { Description = "Hidden layers.", DefaultValueFactory = _ => 2 };
        var netBatch = new Option<int>("--batch-size") { Description = "Rows per step.", DefaultValueFactory = _ => 128 };
        var netS = new Option<int>("--subsample-size") { Description = "Rows of the empirical-NTK snapshot.", DefaultValueFactory = _ => 2000 };
        var network = new Command("network", "One SGD epoch of a ReLU network plus one empirical-NTK snapshot (Θ on s rows and its top-500 eigensystem).")
            { netRows, netDim, netWidth, netDepth, netBatch, netS, json, threads };
        network.SetAction(p =>
        {
            int n = p.GetValue(netRows), d = p.GetValue(netDim), w = p.GetValue(netWidth), depth = p.GetValue(netDepth), b = p.GetValue(netBatch), s = p.GetValue(netS);
            if (n < 2 || d < 1 || w < 1 || depth < 1 || b < 1 || s < 2 || s > n)
                throw new UsageException($"Expected --rows ≥ 2, --dim, --width, --depth, --batch-size ≥ 1 and 2 ≤ --subsample-size ≤ --rows, found {n}, {d}, {w}, {depth}, {b}, {s}.");
            return Report(Benchmarks.Benchmarks.Network(n, d, w, depth, b, 10, s, 500, EigenProCli.Compute(p.GetValue(threads))), p.GetValue(json), stdout, stderr);
        });

        bench.Add(gemm);
        bench.Add(network);
        bench.Add(agop);
        bench.Add(eigh);
        bench.Add(cholesky);
        bench.Add(kernel);
        bench.Add(multiply);
        bench.Add(peak);
        return bench;
    }

    private static int Report(BenchmarkResult r, bool json, TextWriter stdout, TextWriter stderr)
    {
        var human = json ? stderr : stdout;
        string figures = r.Benchmark == "peak" ? $"{r.PeakGflops:F1} GFLOP/s"
            : r.Gflops > 0 ? $"{r.Seconds * 1e3:F1} ms, {r.Gflops:F1} GFLOP/s = {100 * r.FractionOfPeak:F1}% of the measured peak {r.PeakGflops:F1} GFLOP/s"
            : $"{r.Seconds * 1e3:F1} ms; the measured peak {r.PeakGflops:F1} GFLOP/s";
        human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Benchmark} {r.Shape}: {figures} ({r.Threads} threads, {r.SimdPath})"));
        foreach (var (k, v) in r.Extra) human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {k}: {v:G4}"));
        if (json) stdout.WriteLine(JsonSerializer.Serialize(r, EigenProCli.Json));
        return EigenProCli.Ok;
    }
}
