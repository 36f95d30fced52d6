using System.CommandLine;
using System.Globalization;
using System.Text;
using EigenProNet.Data;
using EigenProNet.FeatureLearning;
using Spectre.Console;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro uci-benchmark</c>: RFM and the Laplace kernel machine on every dataset folder of a UCI collection.</summary>
internal static class UciBenchmarkCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var root = new Option<string>("--root") { Description = "The collection: a folder of dataset folders (<name>/<name>.txt, *_R.dat, conxuntos*.dat).", Required = true };
        var only = new Option<string?>("--datasets") { Description = "Comma-separated dataset names to run (default: every folder under --root)." };
        var iterations = new Option<int>("--iterations") { Description = "RFM iterations T.", DefaultValueFactory = _ => 5 };
        var bandwidth = new Option<double>("--bandwidth") { Description = "Bandwidth L.", DefaultValueFactory = _ => 10.0 };
        var diag = new Option<bool>("--diag") { Description = "Learn a diagonal M." };
        var command = new Command("uci-benchmark", """
            The RFM paper's tabular protocol on every dataset folder under --root: ridge ∈ {10, 1, 0.1, 0.01, 0.001} ×
            row normalisation, T = 5 RFM iterations, (ridge, normalisation, iteration) chosen on conxuntos.dat's
            validation split, accuracy = mean over the 4 folds of conxuntos_kfold.dat; the plain Laplace kernel machine
            (M = I) beside it. A dataset that fails is reported and the run goes on (exit code 1 at the end).

            Examples:
              eigenpro uci-benchmark --root ../shared/data/uci --out results.csv
              eigenpro uci-benchmark --root ../shared/data/uci --out results.json
              eigenpro uci-benchmark --root ../shared/data/uci --datasets iris,wine-quality-red --json
            """)
        { root, only, iterations, bandwidth, diag };
        common.AddTo(command);
        command.Options.Remove(common.Seed); // the protocol has no random choice
        common.Out.Description = "Write the results to this file (atomically): one CSV row per dataset when it ends in .csv, else the JSON document (default: the table is only printed).";

        command.SetAction(p =>
        {
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            common.CheckOut(p);
            string? outPath = p.GetValue(common.Out);
            bool csvOut = outPath is not null && outPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
            var human = common.Human(p, stdout, stderr);
            string rootPath = p.GetValue(root)!;
            if (!Directory.Exists(rootPath)) throw new UsageException($"--root {rootPath}: no such folder.");
            if (p.GetValue(iterations) < 1) throw new UsageException($"--iterations must be at least 1, found {p.GetValue(iterations)}.");
            if (!(p.GetValue(bandwidth) > 0)) throw new UsageException($"--bandwidth must be positive, found {p.GetValue(bandwidth)}.");
            var folders = Directory.GetDirectories(rootPath).Order(StringComparer.Ordinal).ToList();
            if (p.GetValue(only) is string list)
            {
                var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var missing = names.Where(n => !folders.Any(f => Path.GetFileName(f) == n)).ToArray();
                if (missing.Length > 0) throw new UsageException($"--datasets: no folder {string.Join(", ", missing)} under {rootPath}.");
                folders = folders.Where(f => names.Contains(Path.GetFileName(f))).ToList();
            }
            if (folders.Count == 0) throw new UsageException($"--root {rootPath}: no dataset folders in it.");
            var options = new UciBenchmarkOptions { Iterations = p.GetValue(iterations), Bandwidth = p.GetValue(bandwidth), Diagonal = p.GetValue(diag), Budget = budget, Compute = compute };

            var results = new List<UciDatasetResult>();
            var failures = new List<(string Name, string Error)>();
            var inv = CultureInfo.InvariantCulture;
            using var cancel = new ConsoleCancellation();
            try
            {
                RunAll(stderr, folders, (folder, i) =>
                {
                    string name = Path.GetFileName(folder);
                    try
                    {
                        var r = UciBenchmark.Run(UciDataset.Load(folder), options, cancel.Token);
                        results.Add(r);
                        human.WriteLine(string.Create(inv,
                            $"[{i + 1}/{folders.Count}] {name,-28} RFM {100 * r.RfmAccuracy,6:F2}%  Laplace {100 * r.LaplaceAccuracy,6:F2}%  (ridge {r.BestReg:G3}, {(r.BestNormalize ? "normalised" : "raw")}, t* = {r.BestIteration}; {r.Seconds:F1} s)"));
                    }
                    catch (Exception e) when (e is DataFormatException or ArgumentException or InvalidOperationException or IOException)
                    {
                        failures.Add((name, e.Message));
                        human.WriteLine($"[{i + 1}/{folders.Count}] {name,-28} FAILED: {e.Message}");
                    }
                });
            }
            catch (OperationCanceledException)
            {
                stderr.WriteLine("error: the benchmark was cancelled; nothing was written.");
                return EigenProCli.RuntimeError;
            }

            double? meanRfm = results.Count > 0 ? results.Average(r => r.RfmAccuracy) : null;
            double? meanLaplace = results.Count > 0 ? results.Average(r => r.LaplaceAccuracy) : null;
            if (meanRfm is double mr)
                human.WriteLine(string.Create(inv, $"mean over {results.Count} datasets: RFM {100 * mr:F2}%, Laplace {100 * meanLaplace!.Value:F2}%"));
            if (failures.Count > 0) human.WriteLine($"{failures.Count} dataset(s) failed: {string.Join(", ", failures.Select(f => f.Name))}");
            if (csvOut)
            {
                var sb = new StringBuilder("name,rows,features,classes,rfm_accuracy,laplace_accuracy,best_reg,best_normalize,best_iteration,validation_accuracy,laplace_reg,laplace_normalize,seconds,error\n");
                foreach (var r in results)
                    sb.Append(string.Create(inv, $"{r.Name},{r.Rows},{r.Features},{r.Classes},{r.RfmAccuracy:R},{r.LaplaceAccuracy:R},{r.BestReg:R},{r.BestNormalize},{r.BestIteration},{r.ValidationAccuracy:R},{r.LaplaceReg:R},{r.LaplaceNormalize},{r.Seconds:F2},\n"));
                foreach (var (name, error) in failures)
                    sb.Append(name).Append(",,,,,,,,,,,,,\"").Append(error.Replace("\"", "\"\"")).Append("\"\n");
                AtomicFile.WriteText(outPath!, sb.ToString());
            }
            var document = new
            {
                Datasets = results,
                Failed = failures.Select(f => new { f.Name, f.Error }),
                MeanRfmAccuracy = meanRfm,
                MeanLaplaceAccuracy = meanLaplace,
                Protocol = new { options.Ridges, options.RowNormalization, options.Iterations, options.Bandwidth, options.Diagonal },
            };
            if (csvOut)
            {
                if (p.GetValue(common.Json)) stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(document, EigenProCli.Json));
            }
            else common.Emit(p, document, stdout);
            return failures.Count > 0 ? EigenProCli.RuntimeError : EigenProCli.Ok;
        });
        return command;
    }

    /// <summary>A progress bar over datasets on a terminal; the per-dataset lines alone otherwise.</summary>
    private static void RunAll(TextWriter stderr, IReadOnlyList<string> folders, Action<string, int> each)
    {
        bool terminal = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!terminal)
        {
            for (int i = 0; i < folders.Count; i++) each(folders[i], i);
            return;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("datasets", maxValue: folders.Count);
                for (int i = 0; i < folders.Count; i++)
                {
                    task.Description = Markup.Escape($"datasets: {Path.GetFileName(folders[i])}");
                    each(folders[i], i);
                    task.Increment(1);
                }
            });
    }
}
