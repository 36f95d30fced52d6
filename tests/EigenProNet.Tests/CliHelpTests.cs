using System.CommandLine;
using EigenProNet.Cli;

namespace EigenProNet.Tests;

/// <summary>The help of every command: names every option it accepts and states every default; typos get a suggestion.</summary>
public class CliHelpTests
{
    /// <summary>Every command of the tree with its path of names (root excluded).</summary>
    private static IEnumerable<(string[] Path, Command Command)> Commands(Command command, string[] path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
            foreach (var c in Commands(sub, [.. path, sub.Name])) yield return c;
    }

    public static TheoryData<string> CommandPaths()
    {
        var data = new TheoryData<string>();
        foreach (var (path, _) in Commands(EigenProCli.BuildRoot(TextWriter.Null, TextWriter.Null), [])) data.Add(string.Join(' ', path));
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void HelpNamesEveryOptionAndStatesItsDefault(string commandPath)
    {
        string[] path = commandPath.Length == 0 ? [] : commandPath.Split(' ');
        var command = Commands(EigenProCli.BuildRoot(TextWriter.Null, TextWriter.Null), []).Single(c => c.Path.SequenceEqual(path)).Command;
        var (code, stdout, stderr) = CliRunner.Run([.. path, "--help"]);
        Assert.True(code == 0, stderr);
        foreach (var option in command.Options)
        {
            Assert.Contains(option.Name, stdout);
            // A value option says what happens without it: System.CommandLine prints "[default: …]" for a default
            // value, otherwise the description says it ("default: all", "default: not saved", …).
            bool flag = option.ValueType == typeof(bool) || option.Arity.MaximumNumberOfValues == 0;
            if (flag || option.Required || option is System.CommandLine.Help.HelpOption || option is VersionOption) continue;
            Assert.True(option.HasDefaultValue || (option.Description ?? "").Contains("default", StringComparison.OrdinalIgnoreCase),
                $"'{commandPath}' option {option.Name} states no default: \"{option.Description}\"");
        }
    }

    [Theory]
    [InlineData(new[] { "train", "--data", "x", "--epoch", "5" }, "--epochs", "--epoch")]
    [InlineData(new[] { "train", "--data", "x", "--bandwith", "2" }, "--bandwidth", "--bandwith")]
    [InlineData(new[] { "dynamics", "compare", "--out", "x", "--subsampel-size", "4" }, "--subsample-size", "--subsampel-size")]
    [InlineData(new[] { "trian" }, "train", "trian")]
    [InlineData(new[] { "dynamics", "netwrok" }, "network", "netwrok")]
    [InlineData(new[] { "bench", "gemm", "--szie", "64" }, "--size", "--szie")]
    public void AMistypedOptionOrCommandSuggestsTheRightOne(string[] args, string suggested, string typed)
    {
        var (code, _, stderr) = CliRunner.Run(args);
        Assert.Equal(EigenProCli.UsageError, code);
        Assert.Contains($"Did you mean '{suggested}' instead of '{typed}'?", stderr);
    }

    [Fact]
    public void AWordFarFromEveryOptionGetsNoSuggestion()
    {
        var (code, _, stderr) = CliRunner.Run("train", "--data", "x", "--colour", "blue");
        Assert.Equal(EigenProCli.UsageError, code);
        Assert.DoesNotContain("Did you mean", stderr);
        Assert.Contains("eigenpro train --help", stderr);
    }

    [Theory]
    [InlineData("epochs", "epochs", 0)]
    [InlineData("epcohs", "epochs", 1)]     // a transposition is one edit
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    public void EditDistanceCountsTranspositionsOnce(string a, string b, int expected)
    {
        Assert.Equal(expected, Suggestions.Distance(a, b));
        Assert.Equal(expected, Suggestions.Distance(b, a));
    }
}
