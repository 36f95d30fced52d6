using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.Models;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro train</c>: load, scale, fit (EigenPro 2 or the direct solver), evaluate per epoch, save.</summary>
internal static class TrainCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var data = new DataOptions();
        var solver = new Option<string>("--solver") { Description = "eigenpro2 | eigenpro3 | eigenpro4 | direct | auto (direct when n ≤ 5000 and K fits the budget).", DefaultValueFactory = _ => "eigenpro2" };
        solver.AcceptOnlyFromAmong("eigenpro2", "eigenpro3", "eigenpro4", "direct", "auto");
        var centers = new Option<int>("--centers") { Description = "EigenPro 3/4: number p of random training rows used as centers.", DefaultValueFactory = _ => 5000 };
        var dataLevel = new Option<int?>("--data-level") { Description = "EigenPro 3/4: directions q the data preconditioner flattens (default 500 for EigenPro 3, 150 for EigenPro 4)." };
        var projection = new Option<string>("--projection") { Description = "EigenPro 3/4: auto | exact | inexact (auto: exact when K(Z, Z) and its factor fit the budget).", DefaultValueFactory = _ => "auto" };
        var modelSubsample = new Option<int>("--model-subsample-size") { Description = "EigenPro 4: Nyström sample of the centers for the inexact projection.", DefaultValueFactory = _ => 3000 };
        var modelLevel = new Option<int>("--model-level") { Description = "EigenPro 4: directions the projection's preconditioner flattens.", DefaultValueFactory = _ => 150 };
        projection.AcceptOnlyFromAmong("auto", "exact", "inexact");
        var beta = new Option<string?>("--beta") { Description = "EigenPro 3/4: β of the data step rule, kernel-diagonal (the reference's max k(x, x)) | preconditioned-diagonal (SysML 2019; default for EigenPro 3, kernel-diagonal for EigenPro 4)." };
        beta.AcceptOnlyFromAmong([.. BetaEstimates.Names]);
        var kernel = new Option<string>("--kernel") { Description = "laplace | gaussian | ntk | ntk-sphere.", DefaultValueFactory = _ => "laplace" };
        kernel.AcceptOnlyFromAmong("laplace", "gaussian", "ntk", "ntk-sphere");
        var bandwidth = new Option<double>("--bandwidth") { Description = "Bandwidth L of the Laplace/Gaussian kernel.", DefaultValueFactory = _ => 5.0 };
        var depth = new Option<int>("--depth") { Description = "NTK depth.", DefaultValueFactory = _ => 2 };
        var bias = new Option<double>("--bias") { Description = "NTK bias.", DefaultValueFactory = _ => 0.0 };
        var epochs = new Option<int>("--epochs") { Description = "EigenPro epochs.", DefaultValueFactory = _ => 5 };
        var subsample = new Option<int?>("--subsample-size") { Description = "Nyström subsample size s (EigenPro 2: default min(n, 2000), 12000 when n ≥ 100000; EigenPro 3: the data sample, default 5000)." };
        var directions = new Option<int?>("--directions") { Description = "EigenPro 2: eigen-directions k flattened by the preconditioner (the reference's top_q − 1; default automatic)." };
        var batch = new Option<int?>("--batch-size") { Description = "Batch size (default: critical batch size, capped by the memory budget)." };
        var eta = new Option<double?>("--eta") { Description = "Step size η (per batch; default automatic)." };
        var ridge = new Option<double>("--ridge") { Description = "Ridge λ of the direct solver.", DefaultValueFactory = _ => 0.0 };
        var scaling = new Option<string>("--scaling") { Description = "auto | none | pixels | unit-range | l2 | standardize (auto: pixels for image data, none otherwise).", DefaultValueFactory = _ => "auto" };
        scaling.AcceptOnlyFromAmong("auto", "none", "pixels", "unit-range", "l2", "standardize");
        var samples = new SampleOptions();
        var validation = new Option<double?>("--validation-fraction") { Description = "When the data has no test split, hold out this fraction for validation (default: none held out)." };
        var evalRows = new Option<int>("--train-eval-rows") { Description = "Training rows evaluated after each epoch.", DefaultValueFactory = _ => 5000 };
        var patience = new Option<int?>("--early-stopping") { Description = "Stop after this many epochs without a better validation MSE, keeping the best weights (default: off)." };
        var save = new Option<string?>("--save") { Description = "Write the trained model to this .epn file (default: not saved)." };
        var checkpointDir = new Option<string?>("--checkpoint-dir") { Description = "After every epoch, save the run's state atomically to DIR/checkpoint.epn (EigenPro 2/3/4; default: no checkpoints)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --checkpoint-dir (same data and settings; --epochs is the new total)." };
        var memoryMap = new Option<bool>("--memory-map") { Description = "EigenPro 3/4: --data is a 2-D float32 .npy of features (already scaled) read a batch at a time from a memory map, so it may exceed RAM; labels come from --labels." };
        var cluster = new Option<string?>("--cluster") { Description = "EigenPro 3/4: spread the centers over the silos of this cluster, host:port[,host:port…] of a silo (its --port; see eigenpro cluster silo). Default: none, the centers stay in this process." };
        var shardCount = new Option<int?>("--shards") { Description = "EigenPro 3/4: number of center shards (default with --cluster: one per silo; without it, shards in this process)." };
        var clusterTimeout = new Option<double>("--cluster-timeout") { Description = "Seconds to wait for --cluster to answer.", DefaultValueFactory = _ => 20 };
        var labels = new Option<string?>("--labels") { Description = "With --memory-map: a .npy of n integer class labels (0 … classes − 1) for the rows of --data (no default: required with --memory-map)." };

        var command = new Command("train", """
            Train a kernel model and report train/test MSE and accuracy per epoch.

            Examples:
              eigenpro train --data data/cifar10-sample --kernel laplace --bandwidth 1 --scaling l2 --epochs 5 --save model.epn
              eigenpro train --data fashion-mnist --kernel laplace --bandwidth 5 --epochs 5 --json
              eigenpro train --data table.csv --label-column class --scaling standardize --solver direct --ridge 1e-3
              eigenpro train --data ../shared/data/cifar-10-batches-bin --solver eigenpro3 --centers 5000 --kernel ntk --scaling unit-range --epochs 10
              eigenpro train --data data/cifar10-sample --solver eigenpro3 --centers 2000 --cluster 127.0.0.1:11111 --checkpoint-dir run
            """)
        { solver, kernel, bandwidth, depth, bias, epochs, subsample, directions, batch, eta, ridge, centers, dataLevel, projection, beta, modelSubsample, modelLevel, scaling, validation, evalRows, patience, save, checkpointDir, resume, memoryMap, labels, cluster, shardCount, clusterTimeout };
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
            if (p.GetValue(epochs) < 1) throw new UsageException($"--epochs must be at least 1, found {p.GetValue(epochs)}.");
            var spec = new KernelSpec(p.GetValue(kernel)!, p.GetValue(bandwidth), p.GetValue(depth), p.GetValue(bias));
            Kernel k;
            try { k = spec.Create(); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }

            string chosen = p.GetValue(solver)!;
            // Training rows: loaded and scaled in memory, or (--memory-map) read a batch at a time from a float32 .npy.
            using var mapped = p.GetValue(memoryMap) ? MappedRows.Open(p, data, labels, samples, validation, scaling, chosen) : null;
            DatasetFormat format;
            double loadSeconds;
            Dataset? train, test;
            if (mapped is null)
            {
                DataSplit split;
                (split, format, loadSeconds) = data.Load(p);
                train = samples.Train(p, split.Train, seed);
                test = split.Test;
                if (test is null && p.GetValue(validation) is double f)
                    (train, test) = Preprocessing.TrainValidationSplit(train, f, SeedStreams.Derive(seed, SeedStreams.ValidationSplit));
            }
            else (train, test, format, loadSeconds) = (null, mapped.Test, DatasetFormat.Npy, mapped.LoadSeconds);
            test = samples.Test(p, test, seed);
            int trainCount = train?.Count ?? (int)mapped!.Rows.Count, dimension = train?.Dimension ?? mapped!.Rows.Dimension;
            int classCount = train?.ClassCount ?? mapped!.ClassCount;
            stderr.WriteLine($"data: {(train?.ToString() ?? $"{mapped!.Rows.Name}: {trainCount} rows × {dimension} features, memory-mapped, {classCount} classes")}{(test is null ? "; no test data" : $"; test: {test.Count} rows")} (loaded in {loadSeconds:F2} s)");

            var scale = mapped is null ? ParseScaling(p.GetValue(scaling)!, format) : Scaling.None;
            var kind = KernelTrainer.Resolve(ParseSolver(chosen), trainCount, budget);
            chosen = SolverName(kind);
            // Options another solver reads would otherwise be ignored without a word.
            bool centerModel = kind is SolverKind.EigenPro3 or SolverKind.EigenPro4;
            if (centerModel && p.GetValue(eta) is not null)
                throw new UsageException($"--eta applies to eigenpro2 only; {chosen} takes its step from the data preconditioner (see --beta and --batch-size).");
            if (centerModel && p.GetValue(directions) is not null)
                throw new UsageException($"--directions applies to eigenpro2 only; {chosen}'s data preconditioner level is --data-level.");
            if (!centerModel && p.GetValue(beta) is not null)
                throw new UsageException($"--beta applies to eigenpro3 and eigenpro4 only, not {chosen}.");
            bool sharded = p.GetValue(cluster) is not null || p.GetValue(shardCount) is not null;
            if (sharded && !centerModel)
                throw new UsageException($"--cluster and --shards spread the centers of EigenPro 3 and 4; they do not apply to {chosen} (use --solver eigenpro3 or eigenpro4).");
            if (p.GetValue(shardCount) is int sc && (sc < 1 || sc > p.GetValue(centers)))
                throw new UsageException($"--shards must be between 1 and --centers = {p.GetValue(centers)}, found {sc}.");
            // Checkpoints: the run's identity (everything that shapes the weights except the number of epochs) goes
            // with the weights, and --resume refuses a checkpoint of another run, naming what differs.
            var identity = new SortedDictionary<string, string>
            {
                ["solver"] = chosen, ["kernel"] = k.ToString(), ["data"] = Path.GetFullPath(DatasetLoader.Resolve(p.GetValue(data.Data)!)),
                ["train_rows"] = Inv(trainCount), ["test_rows"] = Inv(test?.Count ?? 0), ["features"] = Inv(dimension),
                ["classes"] = Inv(classCount), ["scaling"] = scale.ToString(), ["seed"] = Inv(seed),
                ["subsample_size"] = Inv(p.GetValue(subsample)), ["directions"] = Inv(p.GetValue(directions)), ["batch_size"] = Inv(p.GetValue(batch)),
                ["eta"] = Inv(p.GetValue(eta)), ["centers"] = Inv(p.GetValue(centers)), ["data_level"] = Inv(p.GetValue(dataLevel)),
                ["projection"] = p.GetValue(projection)!, ["model_subsample_size"] = Inv(p.GetValue(modelSubsample)),
                ["model_level"] = Inv(p.GetValue(modelLevel)), ["beta"] = p.GetValue(beta) ?? "default",
            };
            // Shards sum in another order: a run resumes on as many shards as it started with (the same final weights).
            using var connection = p.GetValue(cluster) is string addresses ? ClusterCommand.Connect(addresses, p.GetValue(clusterTimeout)) : null;
            var shards = !sharded ? null
                : connection is not null ? connection.ShardsAsync(p.GetValue(shardCount)).GetAwaiter().GetResult()
                : EigenProNet.Sharding.CenterShards.InProcess(p.GetValue(shardCount)!.Value, budget, compute);
            if (shards is not null)
            {
                if (shards.Shards.Count > p.GetValue(centers))
                    throw new UsageException($"{shards.Shards.Count} shards (one per silo) for --centers = {p.GetValue(centers)}: pass --shards.");
                identity["shards"] = Inv(shards.Shards.Count);
                stderr.WriteLine($"shards: {shards.Shards.Count} {(connection is null ? "in this process" : $"on the cluster at {p.GetValue(cluster)}")} (run {shards.Run})");
            }
            var checkpoints = OpenCheckpoints(p.GetValue(checkpointDir), p.GetValue(resume), kind, identity, p.GetValue(epochs));

            // What every solver shares, set once; each solver's options keep their own defaults for what was not given.
            T Shared<T>(T o) where T : SolverOptions => o with
            {
                Epochs = p.GetValue(epochs), TrainEvaluationRows = p.GetValue(evalRows), Seed = seed, ResumeFrom = checkpoints?.ResumeFrom,
            };
            T CenterModel<T>(T o) where T : CenterModelOptions => Shared(o) with
            {
                CenterCount = p.GetValue(centers),
                DataSubsampleSize = p.GetValue(subsample) ?? o.DataSubsampleSize,
                DataLevel = p.GetValue(dataLevel) ?? o.DataLevel,
                Beta = BetaEstimates.Parse(p.GetValue(beta)) ?? o.Beta,
                Projection = Projection(p.GetValue(projection)!),
                BatchSize = p.GetValue(batch),
            };
            var trainer = new KernelTrainer(k, new KernelTrainerOptions
            {
                Solver = kind,
                Scaling = scale,
                ScaleInPlace = true,   // the loaded matrices are ours alone: no second copy of the data
                Ridge = p.GetValue(ridge),
                Budget = budget,
                Compute = compute,
                EigenPro2 = Shared(new EigenPro2Options
                {
                    SubsampleSize = p.GetValue(subsample), Directions = p.GetValue(directions), BatchSize = p.GetValue(batch),
                    Eta = p.GetValue(eta), EarlyStoppingPatience = p.GetValue(patience),
                }),
                EigenPro3 = CenterModel(new EigenPro3Options()) with { Shards = shards },
                EigenPro4 = CenterModel(new EigenPro4Options { ModelSubsampleSize = p.GetValue(modelSubsample), ModelLevel = p.GetValue(modelLevel) }) with { Shards = shards },
            });
            using var cancel = new ConsoleCancellation();
            TrainingResult result;
            try
            {
                result = ProgressDisplay.Run(stderr, $"{chosen} {k}", progress => mapped is null
                    ? trainer.Fit(train!, test, progress, checkpoints, cancel.Token)
                    : trainer.Fit(mapped.Rows, mapped.Targets, classCount, test, progress, checkpoints, cancel.Token));
            }
            catch (OperationCanceledException)
            {
                stderr.WriteLine("error: training was cancelled; nothing was written.");
                return EigenProCli.RuntimeError;
            }
            catch (EigenProNet.Sharding.ShardFailedException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                stderr.WriteLine(checkpoints is null
                    ? "The run stopped; without --checkpoint-dir nothing was saved. Restart the silo and run again."
                    : $"The run stopped; its last completed epoch is in {checkpoints.FilePath}. Restart the silo and continue with the same command and --resume.");
                return EigenProCli.RuntimeError;
            }

            if (checkpoints is not null) result = result with { Epochs = [.. checkpoints.EarlierEpochs, .. result.Epochs] };
            var model = result.Model;
            string? savePath = p.GetValue(save);
            if (savePath is not null)
                model.Save(savePath, new Dictionary<string, string>
                {
                    ["solver"] = result.Settings.Solver,
                    ["data"] = Path.GetFullPath(DatasetLoader.Resolve(p.GetValue(data.Data)!)),
                    ["training_rows"] = trainCount.ToString(CultureInfo.InvariantCulture),
                    ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
                    ["created"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                });

            PrintHuman(human, result, model, savePath);
            if (shards is not null) PrintTraffic(human, shards);
            common.Emit(p, new
            {
                Command = "train",
                Data = new
                {
                    Path = DatasetLoader.Resolve(p.GetValue(data.Data)!),
                    Format = format.ToString(),
                    TrainRows = trainCount,
                    TestRows = test?.Count,
                    Features = dimension,
                    Classes = classCount,
                    MemoryMapped = mapped is not null,
                    Scaling = scale.ToString(),
                    LoadSeconds = loadSeconds,
                },
                result.Settings,
                result.Epochs,
                result.BestEpoch,
                Shards = shards is null ? null : new
                {
                    Count = shards.Shards.Count,
                    Cluster = p.GetValue(cluster),
                    shards.Traffic.LoadBytes,
                    shards.Traffic.LoadSeconds,
                    shards.Traffic.BytesSent,
                    shards.Traffic.BytesReceived,
                    shards.Traffic.BytesPerBatch,
                    shards.Traffic.Batches,
                    shards.Traffic.WaitSeconds,
                    shards.Traffic.RoundTripSeconds,
                    shards.Traffic.SlowestShardComputeSeconds,
                    shards.Traffic.CommunicationSeconds,
                },
                Model = savePath,
                TotalSeconds = total.Elapsed.TotalSeconds,
            }, stdout);
            return EigenProCli.Ok;
        });
        return command;
    }

    private static string Inv(object? value) =>
        value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value?.ToString() ?? "default";

    private static SolverKind ParseSolver(string text) => text switch
    {
        "direct" => SolverKind.Direct,
        "eigenpro3" => SolverKind.EigenPro3,
        "eigenpro4" => SolverKind.EigenPro4,
        "auto" => SolverKind.Auto,
        _ => SolverKind.EigenPro2,
    };

    private static string SolverName(SolverKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary><c>--checkpoint-dir</c> / <c>--resume</c> as a <see cref="CheckpointDirectory"/>, with the flags named in its errors.</summary>
    private static CheckpointDirectory? OpenCheckpoints(string? directory, bool resume, SolverKind kind, IReadOnlyDictionary<string, string> identity, int epochs)
    {
        if (directory is null)
            return resume ? throw new UsageException("--resume needs --checkpoint-dir: the folder of the run to continue.") : null;
        if (kind == SolverKind.Direct) throw new UsageException("--checkpoint-dir is for the iterative solvers (eigenpro2, eigenpro3, eigenpro4).");
        try
        {
            return resume ? CheckpointDirectory.Resume(directory, identity, epochs) : CheckpointDirectory.Create(directory, identity);
        }
        catch (ArgumentException e)
        {
            string message = CommonOptions.WithoutParameter(e);
            throw new UsageException(resume ? $"--resume: {message}" : $"--checkpoint-dir: {message.Replace("resume it,", "resume it (--resume),", StringComparison.Ordinal)}");
        }
    }

    private static ProjectionMode Projection(string text) => text switch
    {
        "exact" => ProjectionMode.Exact,
        "inexact" => ProjectionMode.Inexact,
        _ => ProjectionMode.Auto,
    };

    internal static Scaling ParseScaling(string text, DatasetFormat format) => text switch
    {
        "auto" => Preprocessor.DefaultScaling(format),
        "none" => Scaling.None,
        "pixels" => Scaling.Pixels,
        "unit-range" => Scaling.UnitRange,
        "l2" => Scaling.L2,
        "standardize" => Scaling.Standardize,
        _ => throw new UsageException($"Unknown scaling '{text}'."),
    };

    private static void PrintHuman(TextWriter w, TrainingResult r, KernelModel model, string? savePath)
    {
        var s = r.Settings;
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine(s switch
        {
            DirectSettings d => string.Create(inv, $"{d.Solver} {d.Kernel}: n = {d.TrainingRows}, ridge {d.Ridge:G3}, jitter {d.Jitter:G3}, {d.SetupSeconds:F2} s"),
            CenterModelSettings c => string.Create(inv, $"{c.Solver} {c.Kernel}: n = {c.TrainingRows}, p = {c.Centers} centers, data sample s = {c.SubsampleSize}, k = {c.Directions} directions, batch {c.BatchSize} (int(β/λ_tail) = {c.CriticalBatchSize}, memory limit {c.MemoryBatchLimit}), step {c.StepSize:G4}/sample, β = {c.Beta:G4}{(BetaEstimates.Parse(c.BetaEstimate) == BetaEstimate.PreconditionedDiagonal ? $" (preconditioned diagonal; max k(x, x) = {c.MaxKernelDiagonal:G4})" : "")}, λ₁ = {c.TopEigenvalue:G4}, λ_tail = {c.TailEigenvalue:G4}, {c.Projection} projection{(c.ProjectionBatchSize is int pb ? $" (s_z = {c.ProjectionSubsampleSize}, batch {pb})" : "")}{(c is EigenPro4Settings e4 ? $" every {e4.ProjectionInterval} batch(es)" : "")}, setup {c.SetupSeconds:F2} s"),
            EigenPro2Settings e => string.Create(inv, $"{e.Solver} {e.Kernel}: n = {e.TrainingRows}, s = {e.SubsampleSize}, k = {e.Directions} directions, batch {e.BatchSize} (critical {e.CriticalBatchSize}, memory limit {e.MemoryBatchLimit}), step {e.StepSize:G4}/sample (η = {e.Eta:G4}), β = {e.Beta:G4}, λ₁ = {e.TopEigenvalue:G4}, λ₁′ = {e.PreconditionedTopEigenvalue:G4}, setup {e.SetupSeconds:F2} s"),
            _ => string.Create(inv, $"{s.Solver} {s.Kernel}: n = {s.TrainingRows}, setup {s.SetupSeconds:F2} s"),
        });
        if (s.Warnings is { Count: > 0 } warnings)
            foreach (var warning in warnings) w.WriteLine($"note: {warning}");
        w.WriteLine("epoch   seconds  train_mse  train_acc   test_mse   test_acc");
        foreach (var e in r.Epochs)
            w.WriteLine(string.Create(inv,
                $"{e.Epoch,5} {e.Seconds,9:F2} {e.TrainMse,10:G4} {Pct(e.TrainAccuracy),10} {(e.TestMse is double t ? t.ToString("G4", inv) : "-"),10} {Pct(e.TestAccuracy),10}"));
        if (r.BestEpoch is int best) w.WriteLine($"early stopping: kept the weights of epoch {best}");
        if (savePath is not null) w.WriteLine($"model saved to {savePath} ({model.Centers.Rows} centers × {model.OutputCount} outputs)");
    }

    private static void PrintTraffic(TextWriter w, EigenProNet.Sharding.CenterShards shards)
    {
        var t = shards.Traffic;
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"shards: {shards.Shards.Count} loaded with {t.LoadBytes / (double)(1 << 20):F1} MiB in {t.LoadSeconds:F2} s; training: {t.BytesPerBatch / (1 << 20):F2} MiB per batch ({t.Batches} batches, {t.Exchanges} exchanges), round trips {t.RoundTripSeconds:F2} s (waited {t.WaitSeconds:F2} s), the slowest shard computing {t.SlowestShardComputeSeconds:F2} s, communication {t.CommunicationSeconds:F2} s"));
    }

    private static string Pct(double? v) => v is double x ? (100 * x).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";
}
