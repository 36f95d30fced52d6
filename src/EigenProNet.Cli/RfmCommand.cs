using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EigenProNet.Data;
using EigenProNet.FeatureLearning;
using EigenProNet.Solvers;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro rfm</c>: a Recursive Feature Machine on any dataset the loaders read.</summary>
internal static class RfmCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var data = new DataOptions();
        var iterations = new Option<int>("--iterations") { Description = "RFM iterations T (solve + AGOP update each).", DefaultValueFactory = _ => 5 };
        var kernel = new Option<string>("--kernel") { Description = "laplace | gaussian: the Mahalanobis kernel family.", DefaultValueFactory = _ => "laplace" };
        kernel.AcceptOnlyFromAmong("laplace", "gaussian");
        var bandwidth = new Option<double>("--bandwidth") { Description = "Bandwidth L.", DefaultValueFactory = _ => 10.0 };
        var ridge = new Option<double>("--ridge") { Description = "Ridge λ of the direct solve.", DefaultValueFactory = _ => 1e-3 };
        var diag = new Option<bool>("--diag") { Description = "Learn a diagonal M (a weight per feature)." };
        var solver = new Option<string>("--solver") { Description = "auto | direct | eigenpro2: the solve inside each iteration (auto: direct when K fits the budget).", DefaultValueFactory = _ => "auto" };
        solver.AcceptOnlyFromAmong("auto", "direct", "eigenpro2");
        var epochs = new Option<int>("--epochs") { Description = "EigenPro 2 epochs per iteration.", DefaultValueFactory = _ => 10 };
        var subsample = new Option<int?>("--subsample-size") { Description = "EigenPro 2 Nyström subsample, pinned for the run (default min(n, 2000))." };
        var agopSamples = new Option<int>("--agop-samples") { Description = "Most training rows the AGOP averages over (a sample with replacement above it).", DefaultValueFactory = _ => 20_000 };
        var normalizeM = new Option<string>("--normalize-m") { Description = "mean (the Science-paper code) | max (xRFM: divide by the largest entry).", DefaultValueFactory = _ => "mean" };
        normalizeM.AcceptOnlyFromAmong("mean", "max");
        var centerGrads = new Option<bool>("--center-grads") { Description = "Subtract the mean gradient per output before the outer products." };
        var scaling = new Option<string>("--scaling") { Description = "auto | none | pixels | unit-range | l2 | standardize (auto: l2 for image data, as in the study; none otherwise).", DefaultValueFactory = _ => "auto" };
        scaling.AcceptOnlyFromAmong("auto", "none", "pixels", "unit-range", "l2", "standardize");
        var samples = new SampleOptions();
        var validation = new Option<double?>("--validation-fraction") { Description = "Hold out this fraction of the training rows to select the iteration on (default: select on the test split)." };
        var save = new Option<string?>("--save") { Description = "Write the selected model (with its M) to this .epn file (default: not saved)." };

        var command = new Command("rfm", """
            Train a Recursive Feature Machine: alternate a kernel solve with the AGOP update of the Mahalanobis matrix M,
            report every iteration, keep the one with the best validation score.

            Examples:
              eigenpro rfm --data data/cifar10-sample --iterations 5
              eigenpro rfm --data ../shared/data/cifar-10-batches-bin --train-rows 5000 --test-rows 5000 --solver eigenpro2 --subsample-size 2000 --json
              eigenpro rfm --data ../shared/data/uci/iris --diag --ridge 0.1
            """)
        { iterations, kernel, bandwidth, ridge, diag, solver, epochs, subsample, agopSamples, normalizeM, centerGrads, scaling, validation, save };
        data.AddTo(command);
        samples.AddTo(command);
        common.AddTo(command);

        command.SetAction(p =>
        {
            var total = Stopwatch.StartNew();
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            common.CheckOut(p);
            CommonOptions.CheckWritable(p.GetValue(save), "--save");
            int seed = p.GetValue(common.Seed);
            var human = common.Human(p, stdout, stderr);
            if (p.GetValue(iterations) < 1) throw new UsageException($"--iterations must be at least 1, found {p.GetValue(iterations)}.");
            if (p.GetValue(epochs) < 1) throw new UsageException($"--epochs must be at least 1, found {p.GetValue(epochs)}.");
            if (p.GetValue(agopSamples) < 1) throw new UsageException($"--agop-samples must be at least 1, found {p.GetValue(agopSamples)}.");
            if (!(p.GetValue(bandwidth) > 0)) throw new UsageException($"--bandwidth must be positive, found {p.GetValue(bandwidth)}.");
            if (!(p.GetValue(ridge) >= 0)) throw new UsageException($"--ridge must be ≥ 0, found {p.GetValue(ridge)}.");

            var (split, format, loadSeconds) = data.Load(p);
            var train = samples.Train(p, split.Train, seed);
            var test = split.Test;
            test = samples.Test(p, test, seed);
            Dataset? selectOn = test;
            string selection = test is null ? "none" : "test";
            if (p.GetValue(validation) is double f)
            {
                (train, selectOn) = Preprocessing.TrainValidationSplit(train, f, SeedStreams.Derive(seed, SeedStreams.ValidationSplit));
                selection = "validation";
            }
            stderr.WriteLine($"data: {train}{(test is null ? "; no test data" : $"; test: {test.Count} rows")} (loaded in {loadSeconds:F2} s)");
            var scale = p.GetValue(scaling) == "auto" ? RecursiveFeatureMachine.DefaultScaling(format) : TrainCommand.ParseScaling(p.GetValue(scaling)!, format);
            var preprocessor = Preprocessor.Fit(scale, train.Features);
            preprocessor.TransformInPlace(train.Features, compute);
            if (test is not null) preprocessor.TransformInPlace(test.Features, compute);
            if (selectOn is not null && !ReferenceEquals(selectOn, test)) preprocessor.TransformInPlace(selectOn.Features, compute);

            var options = new RecursiveFeatureMachineOptions
            {
                Iterations = p.GetValue(iterations),
                Kernel = p.GetValue(kernel) == "gaussian" ? RfmKernel.Gaussian : RfmKernel.Laplace,
                Bandwidth = p.GetValue(bandwidth),
                Ridge = p.GetValue(ridge),
                Diagonal = p.GetValue(diag),
                Solver = p.GetValue(solver) switch { "direct" => RfmSolver.Direct, "eigenpro2" => RfmSolver.EigenPro2, _ => RfmSolver.Auto },
                EigenPro = new EigenPro2Options
                {
                    Epochs = p.GetValue(epochs), SubsampleSize = p.GetValue(subsample), EvaluateEveryEpoch = false, Seed = seed, Budget = budget, Compute = compute,
                },
                AgopSampleSize = p.GetValue(agopSamples),
                Normalization = p.GetValue(normalizeM) == "max" ? AgopNormalization.MaxEntry : AgopNormalization.Mean,
                CenterGradients = p.GetValue(centerGrads),
                Seed = seed,
                Budget = budget,
                Compute = compute,
            };
            using var cancel = new ConsoleCancellation();
            RfmResult result;
            try
            {
                result = ProgressDisplay.Run(stderr, "rfm", progress => new RecursiveFeatureMachine(options).Fit(train, selectOn, progress, null, cancel.Token));
            }
            catch (OperationCanceledException)
            {
                stderr.WriteLine("error: training was cancelled; nothing was written.");
                return EigenProCli.RuntimeError;
            }
            var model = result.Model.WithPreprocessor(scale == Scaling.None ? null : preprocessor);
            double? testAccuracy = test is not null && test.IsClassification ? result.Model.Score(test, budget, cancel.Token, compute) : null;
            string? savePath = p.GetValue(save);
            if (savePath is not null)
                model.Save(savePath, new Dictionary<string, string>
                {
                    ["solver"] = "rfm",
                    ["data"] = Path.GetFullPath(DatasetLoader.Resolve(p.GetValue(data.Data)!)),
                    ["training_rows"] = train.Count.ToString(CultureInfo.InvariantCulture),
                    ["best_iteration"] = result.BestIteration.ToString(CultureInfo.InvariantCulture),
                    ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
                    ["created"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                });

            var inv = CultureInfo.InvariantCulture;
            human.WriteLine(string.Create(inv, $"rfm {model.Kernel}: n = {train.Count}, d = {train.Dimension}, inner solver {InnerName(result)}, ridge {options.Ridge:G3}, {options.Iterations} iterations, selected on {selection}"));
            human.WriteLine($"iter  solve_s  agop_s  train_mse  train_acc   {selection}_mse   {selection}_acc   jitter");
            foreach (var r in result.Iterations)
                human.WriteLine(string.Create(inv,
                    $"{r.Iteration,4} {r.SolveSeconds,8:F2} {r.AgopSeconds,7:F2} {r.TrainMse,10:G4} {Pct(r.TrainAccuracy),10} {(r.ValidationMse is double v ? v.ToString("G4", inv) : "-"),10} {Pct(r.ValidationAccuracy),10} {r.Jitter,8:G3}"));
            human.WriteLine(result.SelectedOnValidation
                ? $"selected iteration {result.BestIteration} (the M its solve used)"
                : $"no validation data: returning the last iteration ({result.BestIteration})");
            if (testAccuracy is double ta) human.WriteLine(string.Create(inv, $"test accuracy {100 * ta:F2}%"));
            if (savePath is not null) human.WriteLine($"model saved to {savePath}");
            common.Emit(p, new
            {
                Command = "rfm",
                Data = new
                {
                    Path = DatasetLoader.Resolve(p.GetValue(data.Data)!),
                    Format = format.ToString(),
                    TrainRows = train.Count,
                    TestRows = test?.Count,
                    Features = train.Dimension,
                    Classes = train.ClassCount,
                    Scaling = scale.ToString(),
                    LoadSeconds = loadSeconds,
                },
                Kernel = model.Kernel.ToString(),
                options.Bandwidth,
                options.Ridge,
                options.Diagonal,
                Normalization = options.Normalization.ToString(),
                SelectedOn = selection,
                result.BestIteration,
                result.Iterations,
                InnerSettings = result.Settings.Inner,
                TestAccuracy = testAccuracy,
                Model = savePath,
                TotalSeconds = total.Elapsed.TotalSeconds,
            }, stdout);
            return EigenProCli.Ok;
        });
        return command;
    }

    private static string InnerName(RfmResult r) => r.Settings.Inner is EigenPro2Settings e ? $"eigenpro2 (s = {e.SubsampleSize}, pinned)" : "direct";

    private static string Pct(double? v) => v is double x ? (100 * x).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";
}
