using System.CommandLine;
using EigenProNet.Data;

namespace EigenProNet.Cli;

/// <summary><c>--train-rows</c> / <c>--test-rows</c>: stratified samples of the loaded splits (train and rfm).</summary>
internal sealed class SampleOptions
{
    public Option<int?> TrainRows { get; } = new("--train-rows") { Description = "Use a stratified sample of this many training rows (default: all)." };
    public Option<int?> TestRows { get; } = new("--test-rows") { Description = "Use a stratified sample of this many test rows (default: all)." };

    public void AddTo(Command command)
    {
        command.Add(TrainRows);
        command.Add(TestRows);
    }

    /// <summary>The training rows, sampled when --train-rows is given.</summary>
    public Dataset Train(ParseResult p, Dataset train, int seed)
    {
        if (p.GetValue(TrainRows) is not int rows) return train;
        if (rows < 2) throw new UsageException($"--train-rows must be at least 2, found {rows}.");
        return Preprocessing.Sample(train, rows, SeedStreams.Derive(seed, SeedStreams.TrainRows));
    }

    /// <summary>The test rows, sampled when --test-rows is given.</summary>
    public Dataset? Test(ParseResult p, Dataset? test, int seed)
    {
        if (test is null || p.GetValue(TestRows) is not int rows) return test;
        if (rows < 1) throw new UsageException($"--test-rows must be at least 1, found {rows}.");
        return Preprocessing.Sample(test, rows, SeedStreams.Derive(seed, SeedStreams.TestRows));
    }
}

/// <summary>Ctrl+C cancels the token instead of killing the process, for as long as this lives.</summary>
internal sealed class ConsoleCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly ConsoleCancelEventHandler _handler;

    public ConsoleCancellation()
    {
        _handler = (_, e) => { e.Cancel = true; _source.Cancel(); };
        Console.CancelKeyPress += _handler;
    }

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _source.Dispose();
    }
}
