using System.Text.Json;
using System.Text.RegularExpressions;

namespace EigenProNet.Tests;

/// <summary>
/// docs/cli.md's "--json field by field" tables against the real output: every field a command prints is documented,
/// and every documented field is printed by one of the runs (the union over the solvers and studies).
/// </summary>
public class CliJsonDocumentationTests
{
    private static string Sample => CliRunner.Sample;

    /// <summary>The field patterns of the table after <c>&lt;!-- json-fields: name --&gt;</c> in docs/cli.md.</summary>
    private static List<string> Documented(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(Reference.RepoRoot(), "docs", "cli.md"));
        int start = Array.FindIndex(lines, l => l.Trim() == $"<!-- json-fields: {name} -->");
        Assert.True(start >= 0, $"docs/cli.md has no json-fields table '{name}'");
        var fields = new List<string>();
        for (int i = start + 3; i < lines.Length && lines[i].StartsWith('|'); i++)
        {
            string first = lines[i].Split('|')[1];
            fields.AddRange(Regex.Matches(first, "`([^`]+)`").Select(m => m.Groups[1].Value));
        }
        Assert.NotEmpty(fields);
        return fields;
    }

    /// <summary>Every leaf path of a JSON document: objects as a.b, arrays as a[], numeric keys as {k}.</summary>
    private static HashSet<string> Paths(JsonElement e, string prefix = "")
    {
        var paths = new HashSet<string>();
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    string key = Regex.IsMatch(p.Name, @"^\d+$") ? "{k}" : p.Name;
                    paths.UnionWith(Paths(p.Value, prefix.Length == 0 ? key : $"{prefix}.{key}"));
                }
                if (paths.Count == 0) paths.Add(prefix);
                break;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray()) paths.UnionWith(Paths(item, prefix + "[]"));
                if (paths.Count == 0) paths.Add(prefix + "[]");
                break;
            default:
                paths.Add(prefix);
                break;
        }
        return paths;
    }

    private static HashSet<string> Json(int expectedCode, params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.True(code == expectedCode, $"{string.Join(' ', args)}: exit {code}\n{stderr}");
        using var doc = JsonDocument.Parse(stdout);
        return Paths(doc.RootElement);
    }

    /// <summary>"a.*" matches a's fields and an empty a; anything else matches itself.</summary>
    private static bool Matches(string pattern, string path) =>
        pattern.EndsWith(".*", StringComparison.Ordinal)
            ? path.StartsWith(pattern[..^1], StringComparison.Ordinal) || path == pattern[..^2]
            : pattern == path;

    /// <summary>Both directions: each printed field has a row, each row a printed field.</summary>
    private static void AssertDocumented(string table, IEnumerable<HashSet<string>> runs)
    {
        var documented = Documented(table);
        var printed = runs.SelectMany(r => r).ToHashSet();
        var undocumented = printed.Where(p => !documented.Any(d => Matches(d, p))).Order().ToList();
        Assert.True(undocumented.Count == 0, $"docs/cli.md table '{table}' lacks: {string.Join(", ", undocumented)}");
        var neverPrinted = documented.Where(d => !printed.Any(p => Matches(d, p))).ToList();
        Assert.True(neverPrinted.Count == 0, $"docs/cli.md table '{table}' documents fields no run printed: {string.Join(", ", neverPrinted)}");
    }

    [Fact]
    public void TrainRfmPredictEvaluateAndDataInfoPrintWhatTheDocsList()
    {
        using var dir = new TempDir();
        string model = Path.Combine(dir.Path, "m.epn");
        string[] data = ["--data", Sample, "--train-rows", "400", "--test-rows", "100", "--scaling", "l2", "--json"];
        var train = new[]
        {
            Json(0, ["train", .. data, "--epochs", "1", "--save", model]),
            Json(0, ["train", .. data, "--solver", "direct", "--ridge", "1e-3"]),
            Json(0, ["train", .. data, "--solver", "eigenpro3", "--centers", "200", "--epochs", "1"]),
            Json(0, ["train", .. data, "--solver", "eigenpro4", "--centers", "200", "--epochs", "1", "--projection", "inexact"]),
            Json(0, ["train", .. data, "--solver", "eigenpro3", "--centers", "200", "--epochs", "1", "--shards", "2"]),
        };
        AssertDocumented("train", train);

        var trainFields = Documented("train");
        var rfm = new[]
        {
            Json(0, ["rfm", "--data", Sample, "--train-rows", "200", "--test-rows", "100", "--iterations", "1", "--json"]),
            Json(0, ["rfm", "--data", Sample, "--train-rows", "200", "--test-rows", "100", "--iterations", "1", "--solver", "eigenpro2", "--epochs", "1", "--json"]),
        };
        // inner_settings.* holds train's settings fields for the inner solver: each must be a documented train field.
        AssertDocumented("rfm", rfm);
        var inner = rfm.SelectMany(r => r).Where(p => p.StartsWith("inner_settings.", StringComparison.Ordinal)).ToList();
        Assert.Contains("inner_settings.preconditioned_top_eigenvalue", inner);   // the EigenPro 2 inner solve's own record
        Assert.All(inner, p => Assert.Contains("settings." + p["inner_settings.".Length..], trainFields));

        AssertDocumented("predict",
        [
            Json(0, "predict", "--model", model, "--data", Sample, "--predictions", Path.Combine(dir.Path, "p.csv"), "--json"),
            Json(0, "evaluate", "--model", model, "--data", Sample, "--json"),
        ]);
        AssertDocumented("data-info", [Json(0, "data", "info", "--data", Sample, "--json")]);
        AssertDocumented("bench", [Json(0, "bench", "gemm", "--size", "64", "--json"), Json(0, "bench", "peak", "--json")]);
    }

    [Fact]
    public void UciBenchmarkPrintsWhatTheDocsList()
    {
        using var dir = new TempDir();
        RfmCliTests.WriteUciDataset(dir.Path, "blobs");
        RfmCliTests.WriteUciDataset(dir.Path, "no-folds");
        File.Delete(Path.Combine(dir.Path, "no-folds", "conxuntos_kfold.dat"));   // one failure, so failed[] is filled
        AssertDocumented("uci-benchmark", [Json(1, "uci-benchmark", "--root", dir.Path, "--iterations", "1", "--json")]);
    }

    [Fact]
    public void DynamicsStudiesPrintWhatTheDocsList()
    {
        using var dir = new TempDir();
        string[] rows = ["--data", Sample, "--train-rows", "300", "--test-rows", "100", "--subsample-size", "150", "--k", "20", "--json"];
        AssertDocumented("dynamics",
        [
            Json(0, ["dynamics", "ntk", .. rows, "--out", Path.Combine(dir.Path, "ntk"), "--epochs", "1", "--centers", "200"]),
            Json(0, ["dynamics", "ntk", .. rows, "--out", Path.Combine(dir.Path, "resample"), "--protocol", "resample", "--budgets", "1", "--centers", "200"]),
            Json(0, ["dynamics", "rfm", .. rows, "--out", Path.Combine(dir.Path, "rfm"), "--iterations", "1", "--epochs", "1"]),
            Json(0, ["dynamics", "network", .. rows, "--out", Path.Combine(dir.Path, "network"), "--epochs", "1", "--width", "32"]),
        ]);
    }
}
