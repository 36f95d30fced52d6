using System.CommandLine;
using System.Text.Json;
using EigenProNet.Benchmarks;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Cli;

/// <summary>The <c>eigenpro</c> command line: parsing, exit codes (0 ok, 1 data/runtime error, 2 usage error).</summary>
public static class EigenProCli
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;
    /// <summary>Exit code for data or runtime errors.</summary>
    public const int RuntimeError = 1;
    /// <summary>Exit code for usage errors.</summary>
    public const int UsageError = 2;

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>Runs the tool with <paramref name="args"/>; output to <paramref name="stdout"/>/<paramref name="stderr"/> (console by default).</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var root = BuildRoot(stdout, stderr);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) stderr.WriteLine($"error: {e.Message}");
            var command = parse.CommandResult.Command;
            var ancestors = new List<Command>();
            for (var r = parse.CommandResult.Parent; r is not null; r = r.Parent)
                if (r is System.CommandLine.Parsing.CommandResult c) ancestors.Add(c.Command);
            foreach (var token in parse.UnmatchedTokens.Distinct())
                if (Suggestions.For(token, command, ancestors) is { } suggestion)
                    stderr.WriteLine($"Did you mean '{suggestion}' instead of '{token}'?");
            stderr.WriteLine($"Run '{string.Join(' ', ancestors.AsEnumerable().Reverse().Append(command).Select(c => c is RootCommand ? "eigenpro" : c.Name))} --help' for usage.");
            return UsageError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return UsageError;
        }
        catch (MemoryBudgetExceededException e)
        {
            stderr.WriteLine($"error: {e.Message} Raise it with --memory-budget (e.g. --memory-budget 8GiB).");
            return RuntimeError;
        }
        catch (OutOfMemoryException)
        {
            // The budget sizes the run's buffers; the machine (or a container limit) can still have less than the data
            // and the budget together.
            stderr.WriteLine("error: out of memory: the data and the memory budget together need more than this machine has; lower --memory-budget (default: 25 % of the available memory), or use fewer rows or centers.");
            return RuntimeError;
        }
        catch (EigenProNet.Data.DownloadFailedException e)
        {
            stderr.WriteLine($"error: {e.Message} With the CLI: --mirror FOLDER.");
            return RuntimeError;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidDataException
                                       or FormatException or UnauthorizedAccessException or NotSupportedException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return RuntimeError;
        }
    }

    /// <summary>The command tree (what the help and the option tests walk).</summary>
    internal static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand(
            "EigenProNet: fast kernel machines (EigenPro 2/3/4, NTK, RFM) on the CPU.\n\n" +
            "Examples:\n" +
            "  eigenpro train --data data/cifar10-sample --kernel laplace --bandwidth 1 --scaling l2 --save model.epn\n" +
            "  eigenpro predict --model model.epn --data data/cifar10-sample --predictions predictions.csv\n" +
            "  eigenpro rfm --data data/cifar10-sample --iterations 5\n" +
            "  eigenpro uci-benchmark --root ../shared/data/uci --out results.csv\n" +
            "  eigenpro data info --data fashion-mnist\n" +
            "  eigenpro bench gemm --size 2048 --json");
        root.Add(TrainCommand.Build(stdout, stderr));
        root.Add(PredictCommand.Build(stdout, stderr, evaluateOnly: false));
        root.Add(PredictCommand.Build(stdout, stderr, evaluateOnly: true));
        root.Add(RfmCommand.Build(stdout, stderr));
        root.Add(UciBenchmarkCommand.Build(stdout, stderr));
        root.Add(DynamicsCommand.Build(stdout, stderr));
        root.Add(DataCommand.Build(stdout, stderr));
        root.Add(BenchCommand.Build(stdout, stderr));
        root.Add(ClusterCommand.Build(stdout, stderr));
        return root;
    }

    /// <summary>The compute context of the shared <c>--threads</c> option (default: all cores).</summary>
    internal static ComputeContext Compute(int? threads)
    {
        if (threads is not int t) return ComputeContext.Default;
        if (t < 1 || t > Environment.ProcessorCount)
            throw new UsageException($"--threads must be between 1 and {Environment.ProcessorCount} (the processors available), found {t}.");
        return new ComputeContext(t);
    }
}

/// <summary>A command-line mistake (reported with exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);
