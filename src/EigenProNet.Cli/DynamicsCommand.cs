using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EigenProNet.Data;
using EigenProNet.Dynamics;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.Networks;
using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;
using EigenProNet.Reporting;
using EigenProNet.Solvers;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro dynamics ntk|rfm</c>: train while recording the training-data eigenvector dynamics into a run directory.</summary>
internal static class DynamicsCommand
{
    /// <summary>
    /// The bundled CIFAR-10 sample: the repository's <c>data/cifar10-sample</c> when run from its root, else the copy
    /// that ships beside the command (an installed tool).
    /// </summary>
    private static string BundledSample
    {
        get
        {
            string here = Path.Combine("data", "cifar10-sample");
            if (Directory.Exists(here)) return here;
            return Path.Combine(AppContext.BaseDirectory, "data", "cifar10-sample");
        }
    }

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var dynamics = new Command("dynamics", "Record how the training-data eigenvectors move while a model trains (spec dynamics.md).");
        dynamics.Add(Ntk(stdout, stderr));
        dynamics.Add(Rfm(stdout, stderr));
        dynamics.Add(Network(stdout, stderr));
        dynamics.Add(Compare(stdout, stderr));
        dynamics.Add(Report(stdout, stderr));
        return dynamics;
    }

    private static Command Report(TextWriter stdout, TextWriter stderr)
    {
        var runs = new Argument<string[]>("runs") { Description = "Run directories written by 'eigenpro dynamics ntk|rfm|network'.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The report to write (HTML, self-contained).", DefaultValueFactory = _ => "report.html" };
        var command = new Command("report", """
            Rebuild the report from saved runs, several side by side (e.g. in-run vs resample, depth 2 vs 20), without
            retraining: plots (PNG + SVG) into each run's plots/, one self-contained HTML page.

            Examples:
              eigenpro dynamics report runs/ntk-d2 --out ntk.html
              eigenpro dynamics report runs/ntk-d2 runs/ntk-d20 runs/rfm --out all.html
            """) { runs, output };
        command.SetAction(p =>
        {
            string reportPath = p.GetValue(output)!;
            CommonOptions.CheckWritable(reportPath, "--out");
            foreach (var dir in p.GetValue(runs)!)
                if (!Directory.Exists(dir)) throw new UsageException($"{dir}: no such run directory.");
            var read = DynamicsReport.Write(p.GetValue(runs)!, reportPath);
            foreach (var run in read) stdout.WriteLine($"{run.Name}: {run.Finding}");
            stdout.WriteLine($"report written to {reportPath}");
            return EigenProCli.Ok;
        });
        return command;
    }

    /// <summary>Options both studies share.</summary>
    private sealed class StudyOptions
    {
        public Option<string?> Data { get; } = new("--data") { Description = "Dataset any loader reads (default: the bundled CIFAR-10 sample, data/cifar10-sample)." };
        public Option<string?> Test { get; } = new("--test") { Description = "Test data (default: the dataset's own test split)." };
        public Option<string> Out { get; } = new("--out") { Description = "Run directory to write (run.json, snapshots/, metrics.csv).", Required = true };
        public Option<bool> Force { get; } = new("--force") { Description = "Replace the run in --out if it holds one." };
        public Option<bool> Resume { get; } = new("--resume") { Description = "Continue the run in --out from its last complete snapshot (same settings; --epochs / --iterations may grow)." };
        public Option<int> Subsample { get; } = new("--subsample-size") { Description = "Nyström subsample s, pinned for the whole run.", DefaultValueFactory = _ => 2000 };
        public Option<int> Tracked { get; } = new("--k") { Description = "Eigenvectors tracked per snapshot (≤ s − 1).", DefaultValueFactory = _ => 500 };
        public Option<int?> TrainRows { get; } = new("--train-rows") { Description = "Stratified sample of the training rows (default: all)." };
        public Option<int?> TestRows { get; } = new("--test-rows") { Description = "Stratified sample of the test rows (default: all)." };

        /// <summary>Row counts used when the options are not given (the RFM study's 5 000 / 5 000); null: all rows.</summary>
        public int? DefaultRows { get; init; }
        public CommonOptions Common { get; } = new();

        public void AddTo(Command c)
        {
            c.Add(Data); c.Add(Test); c.Add(Out); c.Add(Force); c.Add(Resume); c.Add(Subsample); c.Add(Tracked); c.Add(TrainRows); c.Add(TestRows);
            Common.AddTo(c);
            c.Options.Remove(Common.Out);   // --out names the run directory here
        }

        public (Dataset Train, Dataset? Test, string Path) Load(ParseResult p, int seed)
        {
            string path = p.GetValue(Data) ?? BundledSample;
            if (p.GetValue(Data) is null && !Directory.Exists(path))
                throw new UsageException($"No --data given and the bundled sample is neither in ./data/cifar10-sample nor beside the command ({Path.GetFullPath(path)}): pass --data.");
            var split = DatasetLoader.Load(path, p.GetValue(Test));
            var train = split.Train;
            if (!train.IsClassification) throw new UsageException($"{path}: the dynamics studies need class labels.");
            if (p.GetValue(TrainRows) is int tr)
            {
                if (tr < 2) throw new UsageException($"--train-rows must be at least 2, found {tr}.");
                train = Preprocessing.Sample(train, tr, SeedStreams.Derive(seed, SeedStreams.TrainRows));
            }
            else if (DefaultRows is int dr && train.Count > dr) train = Preprocessing.Sample(train, dr, SeedStreams.Derive(seed, SeedStreams.TrainRows));
            var test = split.Test;
            if (test is not null && p.GetValue(TestRows) is int te)
            {
                if (te < 1) throw new UsageException($"--test-rows must be at least 1, found {te}.");
                test = Preprocessing.Sample(test, te, SeedStreams.Derive(seed, SeedStreams.TestRows));
            }
            else if (test is not null && DefaultRows is int dt && test.Count > dt) test = Preprocessing.Sample(test, dt, SeedStreams.Derive(seed, SeedStreams.TestRows));
            return (train, test, path);
        }

        /// <summary>
        /// Loads the data, scales train and test with the study's scaling (in place: the loaded matrices are ours) and
        /// pins the subsample: s training rows drawn once from the seed.
        /// </summary>
        public DynamicsStudyData Prepare(ParseResult p, int seed, Scaling scaling, ComputeContext compute)
        {
            var (train, test, path) = Load(p, seed);
            CheckAgainst(p, train);
            var preprocessor = Preprocessor.Fit(scaling, train.Features);
            preprocessor.TransformInPlace(train.Features, compute);
            if (test is not null) preprocessor.TransformInPlace(test.Features, compute);
            return new DynamicsStudyData(RelativeToHere(path), train, test, scaling, PinnedSubsample.Draw(train, p.GetValue(Subsample), seed), seed);
        }

        /// <summary>The size options against the loaded rows.</summary>
        public void CheckAgainst(ParseResult p, Dataset train)
        {
            CheckSizes(p);
            int s = p.GetValue(Subsample), k = p.GetValue(Tracked);
            // These depend on the data: errors of the run (exit code 1), raised before anything is written.
            if (s > train.Count) throw new ArgumentException($"--subsample-size {s} is larger than the {train.Count} training rows.");
            if (k > s - 1) throw new ArgumentException($"--k {k}: a subsample of s = {s} rows has at most s − 1 = {s - 1} eigenvectors to track.");
        }

        /// <summary>The size options alone (usage errors, before any data is read).</summary>
        public void CheckSizes(ParseResult p)
        {
            int s = p.GetValue(Subsample), k = p.GetValue(Tracked);
            if (s < 3) throw new UsageException($"--subsample-size must be at least 3, found {s}.");
            if (k < 1) throw new UsageException($"--k must be at least 1, found {k}.");
        }

        public DynamicsOptions Recorder(ParseResult p, MemoryBudget budget, ComputeContext compute, IReadOnlyCollection<int>? steps = null) =>
            new() { TrackedEigenvectors = p.GetValue(Tracked), Budget = budget, Compute = compute, RecordSteps = steps };
    }

    /// <summary>The fixed-NTK study's own options (EigenPro 3/4 with the NTK or Laplace kernel).</summary>
    private sealed class NtkOptions
    {
        public Option<string> Kernel { get; } = new("--kernel") { Description = "ntk | laplace.", DefaultValueFactory = _ => "ntk" };
        public Option<int> Depth { get; } = new("--depth") { Description = "NTK depth (the study: 2; appendix: 20).", DefaultValueFactory = _ => 2 };
        public Option<double> Bandwidth { get; } = new("--bandwidth") { Description = "Laplace bandwidth L.", DefaultValueFactory = _ => 20.0 };
        public Option<string> Solver { get; } = new("--solver") { Description = "eigenpro3 | eigenpro4.", DefaultValueFactory = _ => "eigenpro3" };
        public Option<int> Centers { get; } = new("--centers") { Description = "Centers p (random training rows; clamped to n).", DefaultValueFactory = _ => 5000 };
        // The study trained with the reference code, whose β is max k(x, x); `train`'s EigenPro 3 default is faster.
        public Option<string> Beta { get; } = new("--beta") { Description = "β of the data step rule: kernel-diagonal (the reference's max k(x, x), as in the study) | preconditioned-diagonal (SysML 2019; `train`'s EigenPro 3 default).", DefaultValueFactory = _ => "kernel-diagonal" };

        public NtkOptions()
        {
            Kernel.AcceptOnlyFromAmong("ntk", "laplace");
            Solver.AcceptOnlyFromAmong("eigenpro3", "eigenpro4");
            Beta.AcceptOnlyFromAmong([.. BetaEstimates.Names]);
        }

        /// <summary>The study's kernel and its EigenPro 3 (or 4) options (the plan pins the data sample on the subsample).</summary>
        public (Kernel Kernel, CenterModelOptions Solver) Build(ParseResult p, int epochs, MemoryBudget budget, ComputeContext compute)
        {
            Kernel k = p.GetValue(Kernel) == "laplace" ? new LaplaceKernel(p.GetValue(Bandwidth)) : new NtkReluKernel(p.GetValue(Depth));
            CenterModelOptions solver = p.GetValue(Solver) == "eigenpro4" ? new EigenPro4Options() : new EigenPro3Options();
            return (k, solver with
            {
                Epochs = epochs, CenterCount = p.GetValue(Centers), Beta = BetaEstimates.Parse(p.GetValue(Beta)) ?? BetaEstimate.KernelDiagonal,
                Budget = budget, Compute = compute,
            });
        }
    }

    private static Command Ntk(TextWriter stdout, TextWriter stderr)
    {
        var study = new StudyOptions();
        var ntk = new NtkOptions();
        var epochs = new Option<int>("--epochs") { Description = "Epochs (a snapshot before training and after each).", DefaultValueFactory = _ => 20 };
        var protocol = new Option<string>("--protocol") { Description = "in-run (one model, a snapshot per epoch) | resample (the study's: a fresh model per epoch budget).", DefaultValueFactory = _ => "in-run" };
        protocol.AcceptOnlyFromAmong("in-run", "resample");
        var budgets = new Option<string>("--budgets") { Description = "resample: the epoch budgets, one fresh model each.", DefaultValueFactory = _ => "1,2,5,10,15,20" };
        var command = new Command("ntk", """
            The NTK study: EigenPro 3 (or 4) on CIFAR-10-like data, a snapshot of the data eigensystem on a pinned Nyström
            subsample, of the residual along it and of the scores before training and after every epoch.

            Examples:
              eigenpro dynamics ntk --out runs/ntk-sample
              eigenpro dynamics ntk --data ../shared/data/cifar-10-batches-bin --out runs/ntk-d2 --epochs 20
              eigenpro dynamics ntk --data ../shared/data/cifar-10-batches-bin --depth 20 --out runs/ntk-d20
              eigenpro dynamics ntk --data ../shared/data/cifar-10-batches-bin --protocol resample --out runs/ntk-resample
            """) { ntk.Kernel, ntk.Depth, ntk.Bandwidth, ntk.Solver, ntk.Centers, epochs, protocol, budgets, ntk.Beta };
        study.AddTo(command);
        command.SetAction(p =>
        {
            var common = study.Common;
            int seed = p.GetValue(common.Seed);
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            if (p.GetValue(epochs) < 1) throw new UsageException($"--epochs must be at least 1, found {p.GetValue(epochs)}.");
            bool resample = p.GetValue(protocol) == "resample";
            int[] epochBudgets = resample ? Budgets(p.GetValue(budgets)!) : [p.GetValue(epochs)];
            if (resample && p.GetValue(study.Resume)) throw new UsageException("--resume continues an in-run study; a resample study restarts.");
            study.CheckSizes(p);
            var human = common.Human(p, stdout, stderr);
            // The study's preprocessing (EigenPro 3's load_dataset): unit-range scaling.
            var data = study.Prepare(p, seed, Scaling.UnitRange, compute);
            var (kernel, solver) = ntk.Build(p, p.GetValue(epochs), budget, compute);
            var plan = DynamicsStudyPlan.FixedKernel(data, kernel, solver, study.Recorder(p, budget, compute));
            if (resample)
                return Execute(p, study, plan, human, stdout, stderr, "dynamics ntk resample", (progress, token) =>
                    plan.RunResample(p.GetValue(study.Out)!, epochBudgets, p.GetValue(study.Force), progress, token));
            return Execute(p, study, plan, human, stdout, stderr, "dynamics ntk", (progress, token) =>
                plan.Run(p.GetValue(study.Out)!, p.GetValue(study.Force), p.GetValue(study.Resume), progress, token));
        });
        return command;
    }

    private static Command Rfm(TextWriter stdout, TextWriter stderr)
    {
        // The study: 5 000 CIFAR-10 training rows (and as many test rows) unless told otherwise.
        var study = new StudyOptions { DefaultRows = 5000 };
        study.TrainRows.Description = "Stratified sample of the training rows (default 5 000, the study's).";
        study.TestRows.Description = "Stratified sample of the test rows (default 5 000).";
        var iterations = new Option<int>("--iterations") { Description = "RFM iterations (a snapshot after each solve).", DefaultValueFactory = _ => 5 };
        var bandwidth = new Option<double>("--bandwidth") { Description = "Bandwidth L.", DefaultValueFactory = _ => 10.0 };
        var epochs = new Option<int>("--epochs") { Description = "EigenPro 2 epochs per iteration.", DefaultValueFactory = _ => 10 };
        var diag = new Option<bool>("--diag") { Description = "Learn a diagonal M." };
        var command = new Command("rfm", """
            The RFM study: a Recursive Feature Machine whose inner EigenPro 2 uses the pinned Nyström subsample; a snapshot
            of the data eigensystem of K_{M_t}, of M_t's eigensystem and of the scores after every iteration.

            Examples:
              eigenpro dynamics rfm --out runs/rfm-sample
              eigenpro dynamics rfm --data ../shared/data/cifar-10-batches-bin --out runs/rfm
            """) { iterations, bandwidth, epochs, diag };
        study.AddTo(command);
        command.SetAction(p =>
        {
            var common = study.Common;
            int seed = p.GetValue(common.Seed);
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            if (p.GetValue(iterations) < 1) throw new UsageException($"--iterations must be at least 1, found {p.GetValue(iterations)}.");
            if (p.GetValue(epochs) < 1) throw new UsageException($"--epochs must be at least 1, found {p.GetValue(epochs)}.");
            study.CheckSizes(p);
            var human = common.Human(p, stdout, stderr);
            // The study's preprocessing: each image divided by its L2 norm.
            var data = study.Prepare(p, seed, Scaling.L2, compute);
            var plan = DynamicsStudyPlan.Rfm(data, new RecursiveFeatureMachineOptions
            {
                Iterations = p.GetValue(iterations), Bandwidth = p.GetValue(bandwidth), Diagonal = p.GetValue(diag),
                EigenPro = new EigenPro2Options { Epochs = p.GetValue(epochs) }, Budget = budget, Compute = compute,
            }, study.Recorder(p, budget, compute));
            return Execute(p, study, plan, human, stdout, stderr, "dynamics rfm", (progress, token) =>
                plan.Run(p.GetValue(study.Out)!, p.GetValue(study.Force), p.GetValue(study.Resume), progress, token));
        });
        return command;
    }

    /// <summary>The network study's own options.</summary>
    private sealed class NetworkOptions
    {
        public Option<int> Width { get; } = new("--width") { Description = "Units per hidden layer w.", DefaultValueFactory = _ => 1024 };
        public Option<int> Depth { get; } = new("--depth") { Description = "Hidden layers D (its infinite-width limit is the NTK of depth D + 1).", DefaultValueFactory = _ => 2 };
        public Option<double?> LearningRate { get; } = new("--lr") { Description = "SGD step size (default: 1/λ₁ of the initial network's batch NTK, half the linearised model's stability limit)." };
        public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Rows per SGD step.", DefaultValueFactory = _ => 128 };
        public Option<double> Momentum { get; } = new("--momentum") { Description = "Heavy-ball momentum μ in [0, 1).", DefaultValueFactory = _ => 0.0 };
        public Option<string> Loss { get; } = new("--loss") { Description = "mse (gradient flow on it is kernel regression with Θ_t) | cross-entropy.", DefaultValueFactory = _ => "mse" };
        public Option<double> Bias { get; } = new("--bias") { Description = "β of the biases (0: none).", DefaultValueFactory = _ => 0.0 };
        public Option<int> Epochs { get; } = new("--epochs") { Description = "Epochs (a snapshot before training, at --record-steps and after every epoch).", DefaultValueFactory = _ => 20 };
        public Option<string> RecordSteps { get; } = new("--record-steps") { Description = "SGD steps snapshotted inside epochs: 'geometric' (1, 2, 4, … within the first two epochs) or a list such as 1,2,4,8,16.", DefaultValueFactory = _ => "geometric" };

        public NetworkOptions() => Loss.AcceptOnlyFromAmong("mse", "cross-entropy");

        public void AddTo(Command c)
        {
            c.Add(Width); c.Add(Depth); c.Add(LearningRate); c.Add(BatchSize); c.Add(Momentum); c.Add(Loss); c.Add(Bias); c.Add(Epochs); c.Add(RecordSteps);
        }

        /// <summary>The usage checks that need no data.</summary>
        public void Check(ParseResult p)
        {
            if (p.GetValue(Width) < 1) throw new UsageException($"--width must be at least 1, found {p.GetValue(Width)}.");
            if (p.GetValue(Depth) < 1) throw new UsageException($"--depth must be at least 1 hidden layer, found {p.GetValue(Depth)}.");
            if (p.GetValue(LearningRate) is double lr && !(lr > 0 && double.IsFinite(lr))) throw new UsageException($"--lr must be positive, found {lr}.");
            if (p.GetValue(BatchSize) < 1) throw new UsageException($"--batch-size must be at least 1, found {p.GetValue(BatchSize)}.");
            if (!(p.GetValue(Momentum) >= 0 && p.GetValue(Momentum) < 1)) throw new UsageException($"--momentum must be in [0, 1), found {p.GetValue(Momentum)}.");
            if (!double.IsFinite(p.GetValue(Bias))) throw new UsageException($"--bias must be finite, found {p.GetValue(Bias)}.");
            if (p.GetValue(Epochs) < 1) throw new UsageException($"--epochs must be at least 1, found {p.GetValue(Epochs)}.");
            Steps(p, int.MaxValue);
        }

        /// <summary>The scheduled steps (null: geometric), each checked against the run's <paramref name="totalSteps"/>.</summary>
        public int[]? Steps(ParseResult p, long totalSteps)
        {
            string text = p.GetValue(RecordSteps)!;
            if (text == "geometric") return null;
            var steps = new List<int>();
            foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int step) || step < 1)
                    throw new UsageException($"--record-steps: '{part}' is not a positive step number (or give 'geometric').");
                if (step > totalSteps)
                    throw new UsageException($"--record-steps: step {step} is beyond the run's {totalSteps} steps ({p.GetValue(Epochs)} epochs).");
                steps.Add(step);
            }
            if (steps.Count == 0) throw new UsageException("--record-steps: give 'geometric' or at least one step.");
            return [.. steps.Distinct().Order()];
        }

        public NetworkTrainerOptions Trainer(ParseResult p, int seed, ComputeContext compute) => new()
        {
            Width = p.GetValue(Width), Depth = p.GetValue(Depth), LearningRate = p.GetValue(LearningRate), BatchSize = p.GetValue(BatchSize),
            Momentum = p.GetValue(Momentum), Loss = p.GetValue(Loss) == "cross-entropy" ? NetworkLoss.CrossEntropy : NetworkLoss.MeanSquaredError,
            BiasScale = p.GetValue(Bias), Epochs = p.GetValue(Epochs), Seed = seed, Compute = compute,
        };

        /// <summary>The SGD steps to snapshot, checked against the run's length on <paramref name="train"/>.</summary>
        public int[]? StepsFor(ParseResult p, Dataset train)
        {
            int batch = Math.Min(p.GetValue(BatchSize), train.Count);
            return Steps(p, (long)((train.Count + batch - 1) / batch) * p.GetValue(Epochs));
        }
    }

    private static Command Network(TextWriter stdout, TextWriter stderr)
    {
        var study = new StudyOptions();
        var network = new NetworkOptions();
        var command = new Command("network", """
            The network study: a fully-connected ReLU network (NTK parameterisation) trained by SGD; a snapshot of its
            empirical NTK Θ_t on the pinned subsample — eigensystem, kernel distance from the start, label alignment, the
            residual along the eigenvectors — before training, at early steps (1, 2, 4, …) and after every epoch. Unlike
            the fixed NTK, Θ_t moves: how much, how early, and how it scales with the width is what this measures.

            Examples:
              eigenpro dynamics network --out runs/network-sample
              eigenpro dynamics network --data ../shared/data/cifar-10-batches-bin --train-rows 5000 --width 4096 --out runs/net-w4096
            """);
        network.AddTo(command);
        study.AddTo(command);
        command.SetAction(p =>
        {
            var common = study.Common;
            int seed = p.GetValue(common.Seed);
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            network.Check(p);
            study.CheckSizes(p);
            var human = common.Human(p, stdout, stderr);
            var data = study.Prepare(p, seed, Scaling.UnitRange, compute);
            var plan = DynamicsStudyPlan.Network(data, network.Trainer(p, seed, compute), study.Recorder(p, budget, compute, network.StepsFor(p, data.Train)));
            return Execute(p, study, plan, human, stdout, stderr, "dynamics network", (progress, token) =>
                plan.Run(p.GetValue(study.Out)!, p.GetValue(study.Force), p.GetValue(study.Resume), progress, token));
        });
        return command;
    }

    private static Command Compare(TextWriter stdout, TextWriter stderr)
    {
        var study = new StudyOptions();
        study.Out.Description = "Folder for the runs (network/, ntk/, rfm/) and the joint report.html.";
        var network = new NetworkOptions();
        var centers = new Option<int>("--centers") { Description = "EigenPro 3 centers p for the fixed NTK (clamped to n).", DefaultValueFactory = _ => 5000 };
        var withRfm = new Option<bool>("--rfm") { Description = "Also run the RFM study on the same rows and subsample." };
        var rfmIterations = new Option<int>("--rfm-iterations") { Description = "RFM iterations with --rfm.", DefaultValueFactory = _ => 5 };
        var command = new Command("compare", """
            The network's empirical NTK beside the fixed NTK on the same data: the network study (eigenvectors that move)
            and EigenPro 3 with the analytic NTK of the same depth (D + 1) on the same rows, the same pinned subsample and the
            same number of epochs (eigenvectors that cannot move) — optionally RFM too — and one report with every run on
            common axes (time in epochs).

            Examples:
              eigenpro dynamics compare --out runs/compare-sample
              eigenpro dynamics compare --data ../shared/data/cifar-10-batches-bin --train-rows 5000 --rfm --out runs/compare
            """) { centers, withRfm, rfmIterations };
        network.AddTo(command);
        study.AddTo(command);
        command.SetAction(p =>
        {
            var common = study.Common;
            int seed = p.GetValue(common.Seed);
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            network.Check(p);
            study.CheckSizes(p);
            if (p.GetValue(withRfm) && p.GetValue(rfmIterations) < 1) throw new UsageException($"--rfm-iterations must be at least 1, found {p.GetValue(rfmIterations)}.");
            string root = p.GetValue(study.Out)!;
            var human = common.Human(p, stdout, stderr);
            var (raw, rawTest, path) = study.Load(p, seed);
            study.CheckAgainst(p, raw);
            var comparison = new DynamicsComparison(new DynamicsComparisonOptions
            {
                Network = network.Trainer(p, seed, compute),
                Centers = p.GetValue(centers),
                Rfm = p.GetValue(withRfm)
                    ? new RecursiveFeatureMachineOptions { Iterations = p.GetValue(rfmIterations), Bandwidth = 10, EigenPro = new EigenPro2Options { Epochs = 10 } }
                    : null,
                SubsampleSize = p.GetValue(study.Subsample),
                Recorder = study.Recorder(p, budget, compute),
                RecordSteps = network.StepsFor(p, raw),
                Seed = seed, Budget = budget, Compute = compute,
            });
            var runs = comparison.Plan(root, RelativeToHere(path), raw, rawTest);
            foreach (var run in runs)
            {
                string title = run.Name switch { "ntk" => "fixed NTK", "rfm" => "RFM", _ => run.Name };
                int code = Execute(p, study, run.Plan, human, stdout, stderr, $"dynamics compare: {title}", (progress, token) =>
                    run.Plan.Run(run.Directory, p.GetValue(study.Force), p.GetValue(study.Resume), progress, token), run.Directory, writeJson: false);
                if (code != EigenProCli.Ok) return code;
            }
            string report = Path.Combine(root, "report.html");
            DynamicsReport.Write([.. runs.Select(r => r.Directory)], report);
            human.WriteLine($"joint report: {report}");
            if (p.GetValue(common.Json))
            {
                var doc = new System.Text.Json.Nodes.JsonObject();
                foreach (var run in runs) doc[run.Name] = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run.Directory, "run.json")));
                doc["report"] = Path.GetFullPath(report);
                stdout.WriteLine(doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            }
            return EigenProCli.Ok;
        });
        return command;
    }

    /// <summary>
    /// The data path as the report shows it: relative to where the command ran, so a report does not carry the
    /// machine's absolute paths (resume from the same directory, as the path is compared).
    /// </summary>
    private static string RelativeToHere(string path) => Path.GetRelativePath(Environment.CurrentDirectory, Path.GetFullPath(path));

    /// <summary>Runs a study with the progress display and cancellation, then prints its per-t table and finding and writes its report.</summary>
    private static int Execute(ParseResult p, StudyOptions study, DynamicsStudyPlan plan, TextWriter human,
        TextWriter stdout, TextWriter stderr, string title, Func<IProgress<TrainingProgress>, CancellationToken, DynamicsStudyResult> run,
        string? directory = null, bool writeJson = true)
    {
        string dir = directory ?? p.GetValue(study.Out)!;
        foreach (var note in plan.Notes) stderr.WriteLine($"note: {note}");
        if (p.GetValue(study.Resume))
        {
            if (p.GetValue(study.Force)) throw new UsageException("--resume and --force contradict each other: resume the run, or replace it.");
            stderr.WriteLine($"resuming {dir}");
        }
        using var cancel = new ConsoleCancellation();
        DynamicsStudyResult result;
        try
        {
            result = ProgressDisplay.Run(stderr, title, progress => run(progress, cancel.Token));
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine($"error: cancelled; {dir} holds the snapshots completed before (continue with --resume).");
            return EigenProCli.RuntimeError;
        }
        catch (ArgumentException e) when (e.Message.Contains("ask for no more", StringComparison.Ordinal))
        {
            // A resumed run that already has the asked length: nothing to do, a usage error.
            throw new UsageException(e.Message.Replace(" iterations ask", " --iterations ask", StringComparison.Ordinal).Replace(" epochs ask", " --epochs ask", StringComparison.Ordinal));
        }
        catch (ArithmeticException e)
        {
            stderr.WriteLine($"error: {e.Message.Replace("use a smaller learning rate", "use a smaller --lr", StringComparison.Ordinal)} {dir} holds only the snapshots recorded before it (no results were written for the diverged steps).");
            return EigenProCli.RuntimeError;
        }
        Print(plan.Settings, result, plan.Recorder, human);
        string report = Path.Combine(dir, "report.html");
        DynamicsReport.Write([dir], report);
        human.WriteLine($"report: {report}");
        human.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"recording: {result.RecordSeconds:F1} s beside {result.TrainingSeconds:F1} s of training ({100 * result.RecordSeconds / Math.Max(result.TrainingSeconds, 1e-9):F1} %); run written to {dir}"));
        if (writeJson && p.GetValue(study.Common.Json)) stdout.WriteLine(File.ReadAllText(Path.Combine(dir, "run.json")).TrimEnd());
        return EigenProCli.Ok;
    }

    /// <summary>The per-t table and the finding.</summary>
    private static void Print(IReadOnlyDictionary<string, object?> settings, DynamicsStudyResult result, DynamicsOptions options, TextWriter human)
    {
        var inv = CultureInfo.InvariantCulture;
        var metrics = result.Metrics;
        var snapshots = result.Snapshots;
        var shown = metrics.Subspaces.Where(x => x.K is 10 or 50 or 100 || x.K == metrics.Subspaces[^1].K).ToArray();
        int s = snapshots[0].Eigenvectors.Rows;
        human.WriteLine($"{settings["study"]}: {settings["kernel"]}, {settings["solver"]}, s = {s} {(result.Resampled ? "fresh per model" : "pinned")}, k = {options.TrackedEigenvectors}");
        human.WriteLine("    t    epoch   test_acc  " + string.Join("  ", shown.Select(x => $"d_top{x.K,-4}")) + "  k_dist    align   mean_learned");
        for (int i = 0; i < snapshots.Count; i++)
        {
            var snap = snapshots[i];
            var finite = snap.LearnedFraction.Where(double.IsFinite).ToArray();
            human.WriteLine(string.Create(inv,
                $"{snap.T,5} {snap.Time,8:0.###} {(snap.ValidationAccuracy is double a ? (100 * a).ToString("F2", inv) + "%" : "-"),10}  {string.Join("  ", shown.Select(x => x.FromStart[i].ToString("F4", inv).PadRight(8)))}  {metrics.KernelDistanceFromStart[i],-8:G3}  {metrics.KernelTargetAlignment[i],-6:F4}  {(finite.Length > 0 ? finite.Average() : double.NaN),8:F3}"));
        }
        human.WriteLine(result.Finding);
    }

    private static int[] Budgets(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var budgets = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out budgets[i]) || budgets[i] < 1)
                throw new UsageException($"--budgets: '{parts[i]}' is not a positive number of epochs.");
        if (budgets.Length == 0) throw new UsageException("--budgets: give at least one epoch budget.");
        if (budgets.Distinct().Count() != budgets.Length || !budgets.SequenceEqual(budgets.Order()))
            throw new UsageException($"--budgets must increase strictly, found {text}.");
        return budgets;
    }
}
