using System.CommandLine;
using System.Diagnostics;
using EigenProNet.Data;

namespace EigenProNet.Cli;

/// <summary>The options that say where data comes from and how tabular files are read.</summary>
internal sealed class DataOptions
{
    public Option<string> Data { get; } = new("--data")
    {
        Description = "Dataset: a CIFAR-10 batch folder, an MNIST-style IDX folder (or 'fashion-mnist' for Debian's install), a UCI collection dataset folder, or a .csv/.npy/.npz file.",
        Required = true,
    };
    public Option<string?> Test { get; } = new("--test") { Description = "Test data (default: the dataset's own test split, when it has one)." };
    public Option<string?> LabelColumn { get; } = new("--label-column") { Description = "CSV/.npy label column: a header name or 0-based index (negative counts from the end; default: last)." };
    public Option<string?> Delimiter { get; } = new("--delimiter") { Description = "CSV delimiter (default: detected among , ; tab space)." };
    public Option<bool> Regression { get; } = new("--regression") { Description = "Treat the label column of a table as a real-valued target." };

    public void AddTo(Command command)
    {
        command.Add(Data);
        command.Add(Test);
        command.Add(LabelColumn);
        command.Add(Delimiter);
        command.Add(Regression);
    }

    public (DataSplit Split, DatasetFormat Format, double Seconds) Load(ParseResult p)
    {
        string path = p.GetValue(Data)!;
        string? delimiter = p.GetValue(Delimiter);
        if (delimiter is { Length: not 1 } && delimiter != "\\t")
            throw new UsageException($"--delimiter must be one character, found '{delimiter}'.");
        var options = new DatasetLoadOptions
        {
            Csv = new CsvOptions
            {
                LabelColumn = p.GetValue(LabelColumn),
                Delimiter = delimiter is null ? null : delimiter == "\\t" ? '\t' : delimiter[0],
                Regression = p.GetValue(Regression),
            },
        };
        var clock = Stopwatch.StartNew();
        var format = DatasetLoader.Detect(path);
        var split = DatasetLoader.Load(path, p.GetValue(Test), options);
        return (split, format, clock.Elapsed.TotalSeconds);
    }
}
