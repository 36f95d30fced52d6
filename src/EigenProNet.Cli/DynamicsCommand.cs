using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EigenProNet.Data;
using EigenProNet.Dynamics;
using EigenProNet.FeatureLearning;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Preconditioning;
using EigenProNet.Reporting;
using EigenProNet.Solvers;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro dynamics ntk|rfm</c>: train while recording the training-data eigenvector dynamics into a run directory.</summary>
internal static class DynamicsCommand
{
    private static string BundledSample => Path.Combine("data", "cifar10-sample");

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var dynamics = new Command("dynamics", "Record how the training-data eigenvectors move while a model trains (spec dynamics.md).");
        dynamics.Add(Ntk(stdout, stderr));
        dynamics.Add(Rfm(stdout, stderr));
        dynamics.Add(Report(stdout, stderr));
        return dynamics;
    }

    private static Command Report(TextWriter stdout, TextWriter stderr)
    {
        var runs = new Argument<string[]>("runs") { Description = "Run directories written by 'eigenpro dynamics ntk|rfm'.", Arity = ArgumentArity.OneOrMore };
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
        public Option<int?> TrainRows { get; } = new("--train-rows") { Description = "Stratified sample of the training rows." };
        public Option<int?> TestRows { get; } = new("--test-rows") { Description = "Stratified sample of the test rows." };

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
                throw new UsageException($"No --data given and the bundled sample {Path.GetFullPath(path)} is not here: run from the repository root or pass --data.");
            var split = DatasetLoader.Load(path, p.GetValue(Test));
            var train = split.Train;
            if (!train.IsClassification) throw new UsageException($"{path}: the dynamics studies need class labels.");
            if (p.GetValue(TrainRows) is int tr)
            {
                if (tr < 2) throw new UsageException($"--train-rows must be at least 2, found {tr}.");
                train = Preprocessing.Sample(train, tr, seed);
            }
            else if (DefaultRows is int dr && train.Count > dr) train = Preprocessing.Sample(train, dr, seed);
            var test = split.Test;
            if (test is not null && p.GetValue(TestRows) is int te)
            {
                if (te < 1) throw new UsageException($"--test-rows must be at least 1, found {te}.");
                test = Preprocessing.Sample(test, te, seed);
            }
            else if (test is not null && DefaultRows is int dt && test.Count > dt) test = Preprocessing.Sample(test, dt, seed);
            return (train, test, path);
        }

        /// <summary>Loads the data, scales train and test with the study's scaling, and pins the subsample.</summary>
        public (Dataset Train, Dataset? Test, string Path, int[] Indices, Matrix Rows, Matrix Targets) Prepare(ParseResult p, int seed, Scaling scaling,
            ComputeContext compute)
        {
            var (train, test, path) = Load(p, seed);
            var preprocessor = Preprocessor.Fit(scaling, train.Features);
            preprocessor.TransformInPlace(train.Features, compute);
            if (test is not null) preprocessor.TransformInPlace(test.Features, compute);
            var (indices, rows, targets) = Pin(p, train, seed);
            return (train, test, path, indices, rows, targets);
        }

        /// <summary>The pinned subsample: s training rows drawn once from the seed (sorted), with their rows and targets.</summary>
        public (int[] Indices, Matrix Rows, Matrix Targets) Pin(ParseResult p, Dataset train, int seed)
        {
            int s = p.GetValue(Subsample), k = p.GetValue(Tracked);
            if (s < 3) throw new UsageException($"--subsample-size must be at least 3, found {s}.");
            if (k < 1) throw new UsageException($"--k must be at least 1, found {k}.");
            // These depend on the data: errors of the run (exit code 1), raised before anything is written.
            if (s > train.Count) throw new ArgumentException($"--subsample-size {s} is larger than the {train.Count} training rows.");
            if (k > s - 1) throw new ArgumentException($"--k {k}: a subsample of s = {s} rows has at most s − 1 = {s - 1} eigenvectors to track.");
            var indices = Preprocessing.Permutation(train.Count, new Random(seed ^ 0x51ab))[..s];
            Array.Sort(indices);
            var rows = new Matrix(s, train.Dimension);
            var y = train.TargetMatrix();
            var targets = new Matrix(s, y.Columns);
            for (int i = 0; i < s; i++)
            {
                train.Features.Row(indices[i]).CopyTo(rows.Row(i));
                y.Row(indices[i]).CopyTo(targets.Row(i));
            }
            return (indices, rows, targets);
        }
    }

    private static Command Ntk(TextWriter stdout, TextWriter stderr)
    {
        var study = new StudyOptions();
        var kernel = new Option<string>("--kernel") { Description = "ntk | laplace.", DefaultValueFactory = _ => "ntk" };
        kernel.AcceptOnlyFromAmong("ntk", "laplace");
        var depth = new Option<int>("--depth") { Description = "NTK depth (the study: 2; appendix: 20).", DefaultValueFactory = _ => 2 };
        var bandwidth = new Option<double>("--bandwidth") { Description = "Laplace bandwidth L.", DefaultValueFactory = _ => 20.0 };
        var solver = new Option<string>("--solver") { Description = "eigenpro3 | eigenpro4.", DefaultValueFactory = _ => "eigenpro3" };
        solver.AcceptOnlyFromAmong("eigenpro3", "eigenpro4");
        var centers = new Option<int>("--centers") { Description = "Centers p (random training rows; clamped to n).", DefaultValueFactory = _ => 5000 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs (a snapshot before training and after each).", DefaultValueFactory = _ => 20 };
        var protocol = new Option<string>("--protocol") { Description = "in-run (one model, a snapshot per epoch) | resample (the study's: a fresh model per epoch budget).", DefaultValueFactory = _ => "in-run" };
        protocol.AcceptOnlyFromAmong("in-run", "resample");
        var budgets = new Option<string>("--budgets") { Description = "resample: the epoch budgets, one fresh model each.", DefaultValueFactory = _ => "1,2,5,10,15,20" };
        // The study trained with the reference code, whose β is max k(x, x); `train`'s EigenPro 3 default is faster.
        var beta = new Option<string>("--beta") { Description = "β of the data step rule: kernel-diagonal (the reference's max k(x, x), as in the study) | preconditioned-diagonal (SysML 2019; `train`'s EigenPro 3 default).", DefaultValueFactory = _ => "kernel-diagonal" };
        beta.AcceptOnlyFromAmong([.. BetaEstimates.Names]);
        var command = new Command("ntk", """
            The NTK study: EigenPro 3 (or 4) on CIFAR-10-like data, a snapshot of the data eigensystem on a pinned Nyström
            subsample, of the residual along it and of the scores before training and after every epoch.

            Examples:
              eigenpro dynamics ntk --out runs/ntk-sample
              eigenpro dynamics ntk --data ../shared/data/cifar-10-batches-bin --out runs/ntk-d2 --epochs 20
              eigenpro dynamics ntk --data ../shared/data/cifar-10-batches-bin --depth 20 --out runs/ntk-d20
              eigenpro dynamics ntk --data ../shared/data/cifar-10-batches-bin --protocol resample --out runs/ntk-resample
            """) { kernel, depth, bandwidth, solver, centers, epochs, protocol, budgets, beta };
        study.AddTo(command);
        command.SetAction(p =>
        {
            var total = Stopwatch.StartNew();
            var common = study.Common;
            int seed = p.GetValue(common.Seed);
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            if (p.GetValue(epochs) < 1) throw new UsageException($"--epochs must be at least 1, found {p.GetValue(epochs)}.");
            var human = common.Human(p, stdout, stderr);
            // The study's preprocessing (EigenPro 3's load_dataset): unit-range scaling.
            var (train, test, path, indices, rows, targets) = study.Prepare(p, seed, Scaling.UnitRange, compute);
            Kernel k = p.GetValue(kernel) == "laplace" ? new LaplaceKernel(p.GetValue(bandwidth)) : new NtkReluKernel(p.GetValue(depth));
            int p0 = Math.Min(p.GetValue(centers), train.Count);
            if (p0 < p.GetValue(centers)) stderr.WriteLine($"note: --centers {p.GetValue(centers)} clamped to the {train.Count} training rows");
            int s = indices.Length, level = Math.Min(500, s - 1);
            var betaEstimate = BetaEstimates.Parse(p.GetValue(beta)) ?? BetaEstimate.KernelDiagonal;
            bool resample = p.GetValue(protocol) == "resample";
            int[] epochBudgets = resample ? Budgets(p.GetValue(budgets)!) : [p.GetValue(epochs)];
            var settings = Settings("ntk", path, train, test, k.ToString(), p.GetValue(solver)!, seed, s, p.GetValue(study.Tracked),
                ("centers", p0), ("epochs", resample ? epochBudgets.Max() : p.GetValue(epochs)), ("scaling", "unit-range"), ("data_level", level), ("beta", p.GetValue(beta)!));
            IKernelSolver Trainer(TrainingCheckpoint? resumeFrom, int epochCount, int modelSeed, int[] sample) => p.GetValue(solver) == "eigenpro4"
                ? new EigenPro4(k, new EigenPro4Options
                {
                    Epochs = epochCount, CenterCount = p0, DataSubsampleSize = s, DataSubsampleIndices = sample, DataLevel = Math.Min(150, s - 1),
                    Beta = betaEstimate, Seed = modelSeed, Budget = budget, Compute = compute, ResumeFrom = resumeFrom,
                })
                : new EigenPro3(k, new EigenPro3Options
                {
                    Epochs = epochCount, CenterCount = p0, DataSubsampleSize = s, DataSubsampleIndices = sample, DataLevel = level,
                    Beta = betaEstimate, Seed = modelSeed, Budget = budget, Compute = compute, ResumeFrom = resumeFrom,
                });
            if (resample)
            {
                if (p.GetValue(study.Resume)) throw new UsageException("--resume continues an in-run study; a resample study restarts.");
                settings["protocol"] = "resample";
                settings["budgets"] = epochBudgets;
                return RunResample(p, study, settings, train, epochBudgets, s, seed, budget, compute, human, stdout, stderr, total,
                    (b, modelSeed, sample, recorder, progress, token) => Trainer(null, b, modelSeed, sample).Fit(train, test, progress, recorder, token).Epochs.Sum(e => e.Seconds));
            }
            IKernelSolver InRun(TrainingCheckpoint? resumeFrom) => Trainer(resumeFrom, p.GetValue(epochs), seed, indices);
            // Resuming: the same kernel (its eigensystem is kept), training restarts from the last snapshot's weights.
            return Run(p, study, settings, indices, rows, targets, budget, compute, human, stdout, stderr, total, "epochs", k, redoLast: false,
                (progress, recorder, last, token) =>
                {
                    TrainingCheckpoint? resumeFrom = null;
                    if (last is not null)
                        resumeFrom = new TrainingCheckpoint(last.T, last.Weights ?? throw new IOException($"snapshot t = {last.T} has no weights.npy to resume from."));
                    return InRun(resumeFrom).Fit(train, test, progress, recorder, token).Epochs.Sum(e => e.Seconds);
                });
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
            var total = Stopwatch.StartNew();
            var common = study.Common;
            int seed = p.GetValue(common.Seed);
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            if (p.GetValue(iterations) < 1) throw new UsageException($"--iterations must be at least 1, found {p.GetValue(iterations)}.");
            if (p.GetValue(epochs) < 1) throw new UsageException($"--epochs must be at least 1, found {p.GetValue(epochs)}.");
            var human = common.Human(p, stdout, stderr);
            // The study's preprocessing: each image divided by its L2 norm.
            var (train, test, path, indices, rows, targets) = study.Prepare(p, seed, Scaling.L2, compute);
            var options = new RecursiveFeatureMachineOptions
            {
                Iterations = p.GetValue(iterations), Bandwidth = p.GetValue(bandwidth), Diagonal = p.GetValue(diag), Solver = RfmSolver.EigenPro2,
                EigenPro = new EigenPro2Options { Epochs = p.GetValue(epochs), SubsampleIndices = indices, EvaluateEveryEpoch = false, Seed = seed },
                Seed = seed, Budget = budget, Compute = compute,
            };
            string family = $"MahalanobisLaplace(L={options.Bandwidth.ToString(CultureInfo.InvariantCulture)}, {(options.Diagonal ? "diagonal" : "full")} M learned, M₀ = I)";
            var settings = Settings("rfm", path, train, test, family, "rfm (EigenPro 2 inside)", seed, indices.Length, p.GetValue(study.Tracked),
                ("iterations", options.Iterations), ("bandwidth", options.Bandwidth), ("diagonal_m", options.Diagonal), ("inner_epochs", p.GetValue(epochs)),
                ("scaling", "l2"));
            // Resuming: the interrupted run's last iteration t is redone from its saved M_t (every random choice is drawn
            // before the first iteration, so it repeats exactly), then the run goes on to --iterations.
            return Run(p, study, settings, indices, rows, targets, budget, compute, human, stdout, stderr, total, "iterations", null, redoLast: true,
                (progress, recorder, last, token) =>
                {
                    var o = last is null ? options : options with
                    {
                        FirstIteration = last.T,
                        Iterations = Math.Max(0, options.Iterations - last.T),
                        InitialM = last.FeatureMatrix ?? throw new IOException($"snapshot t = {last.T} has no m.npy to resume from."),
                    };
                    if (o.Iterations == 0)
                        throw new UsageException($"The run already has iteration t = {last!.T}; --iterations {options.Iterations} asks for no more.");
                    return new RecursiveFeatureMachine(o).Fit(train, test, progress, recorder, token).Iterations.Sum(r => r.SolveSeconds + r.AgopSeconds);
                });
        });
        return command;
    }

    private static Dictionary<string, object?> Settings(string study, string path, Dataset train, Dataset? test, string kernel, string solver, int seed,
        int s, int k, params (string Key, object Value)[] extra)
    {
        var settings = new Dictionary<string, object?>
        {
            ["study"] = study, ["data"] = Path.GetFullPath(path), ["train_rows"] = train.Count, ["test_rows"] = test?.Count, ["features"] = train.Dimension,
            ["classes"] = train.ClassCount, ["kernel"] = kernel, ["solver"] = solver, ["seed"] = seed, ["subsample_size"] = s,
            ["tracked_eigenvectors"] = k, ["protocol"] = "in-run",
        };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    /// <summary>Trains with the recorder subscribed, writing each snapshot as it comes; prints the per-t table and the finding.</summary>
    private static int Run(ParseResult p, StudyOptions study, Dictionary<string, object?> settings, int[] indices, Matrix rows, Matrix targets,
        MemoryBudget budget, ComputeContext compute, TextWriter human, TextWriter stdout, TextWriter stderr, Stopwatch total, string lengthSetting,
        Kernel? sameKernel, bool redoLast, Func<IProgress<TrainingProgress>, DynamicsRecorder, DynamicsSnapshot?, CancellationToken, double> train)
    {
        var options = new DynamicsOptions { TrackedEigenvectors = p.GetValue(study.Tracked), Budget = budget, Compute = compute };
        string dir = p.GetValue(study.Out)!;
        DynamicsRunWriter writer;
        IReadOnlyList<DynamicsSnapshot>? previous = null;
        DynamicsSnapshot? last = null;
        if (p.GetValue(study.Resume))
        {
            if (p.GetValue(study.Force)) throw new UsageException("--resume and --force contradict each other: resume the run, or replace it.");
            writer = DynamicsRunWriter.Continue(dir, settings, indices, options, [lengthSetting]);
            previous = DynamicsRun.Read(dir).Snapshots;
            last = previous[^1];
            // A study that redoes its last step from the saved state records that snapshot again.
            if (redoLast) previous = previous.Take(previous.Count - 1).ToArray();
            stderr.WriteLine($"resuming {dir} after t = {last.T}");
        }
        else writer = new DynamicsRunWriter(dir, settings, indices, options, p.GetValue(study.Force));
        DynamicsRecorder? recorder = null;
        recorder = new DynamicsRecorder(rows, targets, options, snapshot => writer.Write(snapshot, recorder!.Snapshots));
        if (previous is not null) recorder.ContinueFrom(previous, sameKernel);
        using var cancel = new ConsoleCancellation();
        double trainingSeconds;
        try
        {
            trainingSeconds = ProgressDisplay.Run(stderr, $"dynamics {settings["study"]}", progress => train(progress, recorder, last, cancel.Token));
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine($"error: cancelled; {dir} holds the {recorder.Snapshots.Count} snapshot(s) completed before.");
            return EigenProCli.RuntimeError;
        }
        return Finish(p, study, settings, writer, recorder.Snapshots, recorder.RecordSeconds, trainingSeconds, indices.Length, options, compute, human, stdout, total);
    }

    /// <summary>The study's protocol: for each epoch budget a fresh model (new centers, new Nyström sample), snapshotted after training.</summary>
    private static int RunResample(ParseResult p, StudyOptions study, Dictionary<string, object?> settings, Dataset train, int[] budgets, int s, int seed,
        MemoryBudget budget, ComputeContext compute, TextWriter human, TextWriter stdout, TextWriter stderr, Stopwatch total,
        Func<int, int, int[], DynamicsRecorder, IProgress<TrainingProgress>, CancellationToken, double> trainModel)
    {
        var options = new DynamicsOptions { TrackedEigenvectors = p.GetValue(study.Tracked), Budget = budget, Compute = compute };
        string dir = p.GetValue(study.Out)!;
        var samples = budgets.Select((_, i) => Sample(train.Count, s, seed, i + 1)).ToArray();
        var writer = new DynamicsRunWriter(dir, settings, samples[0], options, p.GetValue(study.Force));
        var y = train.TargetMatrix();
        var snapshots = new List<DynamicsSnapshot>();
        double trainingSeconds = 0, recordSeconds = 0;
        using var cancel = new ConsoleCancellation();
        try
        {
            for (int i = 0; i < budgets.Length; i++)
            {
                var (rows, targets) = Rows(train.Features, y, samples[i]);
                var recorder = new DynamicsRecorder(rows, targets, options);
                int b = budgets[i];
                trainingSeconds += ProgressDisplay.Run(stderr, $"dynamics ntk resample: model {i + 1}/{budgets.Length}, {b} epoch(s)",
                    progress => trainModel(b, seed + 1000 * (i + 1), samples[i], recorder, progress, cancel.Token));
                recordSeconds += recorder.RecordSeconds;
                // The model's state after its budget, on its own Nyström sample, labelled t = its budget.
                var final = recorder.Snapshots[^1] with { T = b, KernelChanged = i > 0 };
                snapshots.Add(final);
                var writing = Stopwatch.StartNew();
                writer.Write(final, snapshots, samples[i]);
                recordSeconds += writing.Elapsed.TotalSeconds;
            }
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine($"error: cancelled; {dir} holds the {snapshots.Count} model(s) completed before.");
            return EigenProCli.RuntimeError;
        }
        return Finish(p, study, settings, writer, snapshots, recordSeconds, trainingSeconds, s, options, compute, human, stdout, total);
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

    private static int[] Sample(int n, int s, int seed, int draw)
    {
        var indices = Preprocessing.Permutation(n, new Random((seed ^ 0x51ab) + 7919 * draw))[..s];
        Array.Sort(indices);
        return indices;
    }

    private static (Matrix Rows, Matrix Targets) Rows(Matrix x, Matrix y, int[] indices)
    {
        var rows = new Matrix(indices.Length, x.Columns);
        var targets = new Matrix(indices.Length, y.Columns);
        for (int i = 0; i < indices.Length; i++)
        {
            x.Row(indices[i]).CopyTo(rows.Row(i));
            y.Row(indices[i]).CopyTo(targets.Row(i));
        }
        return (rows, targets);
    }

    /// <summary>Refreshes run.json with the timings, prints the per-t table and the finding, and writes the run's report.</summary>
    private static int Finish(ParseResult p, StudyOptions study, Dictionary<string, object?> settings, DynamicsRunWriter writer,
        IReadOnlyList<DynamicsSnapshot> snapshots, double recordSeconds, double trainingSeconds, int s, DynamicsOptions options, ComputeContext compute,
        TextWriter human, TextWriter stdout, Stopwatch total)
    {
        string dir = p.GetValue(study.Out)!;
        var timings = new Dictionary<string, object?>
        {
            ["training_seconds"] = trainingSeconds, ["recording_seconds"] = recordSeconds,
            ["recording_overhead"] = trainingSeconds > 0 ? recordSeconds / trainingSeconds : null, ["total_seconds"] = total.Elapsed.TotalSeconds,
        };
        var metrics = writer.Finish(snapshots, timings, compute);
        bool resampled = settings.TryGetValue("protocol", out var protocolName) && protocolName as string == "resample";

        var inv = CultureInfo.InvariantCulture;
        var shown = metrics.Subspaces.Where(x => x.K is 10 or 50 or 100 || x.K == metrics.Subspaces[^1].K).ToArray();
        human.WriteLine($"{settings["study"]}: {settings["kernel"]}, {settings["solver"]}, s = {s} {(resampled ? "fresh per model" : "pinned")}, k = {options.TrackedEigenvectors}");
        human.WriteLine("    t   test_acc  " + string.Join("  ", shown.Select(x => $"d_top{x.K,-4}")) + "  mean_learned");
        for (int i = 0; i < snapshots.Count; i++)
        {
            var snap = snapshots[i];
            var finite = snap.LearnedFraction.Where(double.IsFinite).ToArray();
            human.WriteLine(string.Create(inv,
                $"{snap.T,5} {(snap.ValidationAccuracy is double a ? (100 * a).ToString("F2", inv) + "%" : "-"),10}  {string.Join("  ", shown.Select(x => x.FromStart[i].ToString("F4", inv).PadRight(8)))}  {(finite.Length > 0 ? finite.Average() : double.NaN),8:F3}"));
        }
        human.WriteLine(DynamicsRunWriter.Finding(metrics, options.CeaseTolerance, resampled));
        string report = Path.Combine(dir, "report.html");
        DynamicsReport.Write([dir], report);
        human.WriteLine($"report: {report}");
        human.WriteLine(string.Create(inv, $"recording: {recordSeconds:F1} s beside {trainingSeconds:F1} s of training ({100 * recordSeconds / Math.Max(trainingSeconds, 1e-9):F1} %); run written to {dir}"));
        if (p.GetValue(study.Common.Json)) stdout.WriteLine(File.ReadAllText(Path.Combine(dir, "run.json")).TrimEnd());
        return EigenProCli.Ok;
    }
}
