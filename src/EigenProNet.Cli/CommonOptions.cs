using System.CommandLine;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Cli;

/// <summary>The options every long-running command shares (issue conventions: --seed, --threads, --memory-budget, --out, --json).</summary>
internal sealed class CommonOptions
{
    public Option<int> Seed { get; } = new("--seed") { Description = "Seed of every random choice (subsample, shuffles, splits).", DefaultValueFactory = _ => 1 };
    public Option<int?> Threads { get; } = new("--threads") { Description = "Worker threads (default: all cores)." };
    public Option<string?> MemoryBudget { get; } = new("--memory-budget") { Description = "Working-memory budget, e.g. 2GiB or 512MiB (default: 25% of available memory)." };
    public Option<string?> Out { get; } = new("--out") { Description = "Also write the JSON results to this file, atomically (default: none)." };
    public Option<bool> Json { get; } = new("--json") { Description = "Print one JSON document with the results on stdout; human output goes to stderr." };

    public void AddTo(Command command)
    {
        command.Add(Seed);
        command.Add(Threads);
        command.Add(MemoryBudget);
        command.Add(Out);
        command.Add(Json);
    }

    /// <summary>Threads (and the widest SIMD path) from --threads.</summary>
    public ComputeContext Compute(ParseResult p) => EigenProCli.Compute(p.GetValue(Threads));

    public MemoryBudget Budget(ParseResult p) => ParseBudget(p.GetValue(MemoryBudget));

    /// <summary>A --memory-budget value (null: the default), a usage error when it does not parse.</summary>
    public static MemoryBudget ParseBudget(string? text)
    {
        if (text is null) return LinearAlgebra.MemoryBudget.Default;
        try { return LinearAlgebra.MemoryBudget.Parse(text); }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new UsageException($"--memory-budget: {e.Message}");
        }
    }

    /// <summary>An exception's message without the " (Parameter 'name')" an ArgumentException appends: the option is named instead.</summary>
    public static string WithoutParameter(Exception e) =>
        e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;

    /// <summary>Writes the result: JSON to stdout with --json, and to --out when given.</summary>
    public void Emit(ParseResult p, object result, TextWriter stdout)
    {
        string json = System.Text.Json.JsonSerializer.Serialize(result, EigenProCli.Json);
        if (p.GetValue(Out) is string path) AtomicFile.WriteText(path, json + "\n");
        if (p.GetValue(Json)) stdout.WriteLine(json);
    }

    /// <summary>Where human-readable output goes: stdout, or stderr when stdout carries JSON.</summary>
    public TextWriter Human(ParseResult p, TextWriter stdout, TextWriter stderr) => p.GetValue(Json) ? stderr : stdout;

    /// <summary>Checks an --out path before the work starts, so a long run does not fail at the very end.</summary>
    public void CheckOut(ParseResult p) => CheckWritable(p.GetValue(Out), "--out");

    public static void CheckWritable(string? path, string option)
    {
        if (path is null) return;
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) throw new UsageException($"{option} {path}: the folder {dir} does not exist.");
        if (Directory.Exists(path)) throw new UsageException($"{option} {path}: is a folder, expected a file path.");
    }
}
