using System.CommandLine;
using System.Globalization;
using EigenProNet.Data;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro data info|download</c>.</summary>
internal static class DataCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var data = new Command("data", "Inspect and fetch datasets.");

        var infoCommon = new CommonOptions();
        var infoData = new DataOptions();
        var info = new Command("info", """
            Describe a dataset: format, rows, features, classes, value range.

            Examples:
              eigenpro data info --data data/cifar10-sample
              eigenpro data info --data fashion-mnist --json
            """);
        infoData.AddTo(info);
        info.Add(infoCommon.Json);
        info.Add(infoCommon.Out);
        info.SetAction(p =>
        {
            var (split, format, seconds) = infoData.Load(p);
            var human = infoCommon.Human(p, stdout, stderr);
            var parts = new List<object>();
            foreach (var (name, set) in new[] { ("train", split.Train), ("test", split.Test) })
            {
                if (set is null) continue;
                var x = set.Features.Data;
                float min = x.Length > 0 ? System.Numerics.Tensors.TensorPrimitives.Min(x) : 0;
                float max = x.Length > 0 ? System.Numerics.Tensors.TensorPrimitives.Max(x) : 0;
                int[]? counts = set.Labels is null ? null : Enumerable.Range(0, set.ClassCount).Select(c => set.Labels.Count(l => l == c)).ToArray();
                human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {set}; values in [{min:G4}, {max:G4}]"));
                if (counts is not null)
                    human.WriteLine("  class counts: " + string.Join(", ", counts.Select((n, c) => $"{(set.ClassNames is { } cn ? cn[c] : c.ToString(CultureInfo.InvariantCulture))}={n}")));
                parts.Add(new { Split = name, set.Source, Rows = set.Count, Features = set.Dimension, Classes = set.ClassCount, ClassCounts = counts, Min = min, Max = max });
            }
            human.WriteLine($"format: {format} (read in {seconds:F2} s)");
            infoCommon.Emit(p, new { Command = "data info", Format = format.ToString(), Parts = parts, LoadSeconds = seconds }, stdout);
            return EigenProCli.Ok;
        });

        var name = new Argument<string>("dataset") { Description = string.Join(" | ", DatasetDownloader.Catalog.Keys) };
        name.AcceptOnlyFromAmong(DatasetDownloader.Catalog.Keys.ToArray());
        var dir = new Option<string>("--dir") { Description = "Folder to download into.", DefaultValueFactory = _ => "datasets" };
        var mirror = new Option<string?>("--mirror") { Description = "Take the files from this folder or base URL instead of the official site (default: the official site)." };
        var downloadJson = new Option<bool>("--json") { Description = "Print one JSON document with the result on stdout." };
        var download = new Command("download", """
            Download a dataset's official archives, verify their checksums and unpack them.

            Examples:
              eigenpro data download cifar10 --dir datasets
              eigenpro data download fashion-mnist --dir datasets --mirror /usr/share/datasets/fashion-mnist
            """)
        { name, dir, mirror, downloadJson };
        download.SetAction(p =>
        {
            string folder = DatasetDownloader.Download(p.GetValue(name)!, p.GetValue(dir)!, p.GetValue(mirror), new Progress(stderr));
            var human = p.GetValue(downloadJson) ? stderr : stdout;
            human.WriteLine($"ready: eigenpro train --data {folder}");
            if (p.GetValue(downloadJson))
                stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { Command = "data download", Dataset = p.GetValue(name), Path = folder }, EigenProCli.Json));
            return EigenProCli.Ok;
        });

        data.Add(info);
        data.Add(download);
        return data;
    }

    private sealed class Progress(TextWriter stderr) : IProgress<string>
    {
        public void Report(string value) => stderr.WriteLine(value);
    }
}
