using System.Diagnostics;
using EigenProNet.Fuzz;
using EigenProNet.Data;

namespace EigenProNet.Tests;

/// <summary>
/// Every input the fuzzer found (fuzz/corpus/TARGET/finding-*) replayed through its target: each is now rejected with
/// the reader's <c>DataFormatException</c> — no other exception, no hang, no allocation of what a forged header claims.
/// </summary>
public class FuzzRegressionTests
{
    public static TheoryData<string, string> Findings()
    {
        var data = new TheoryData<string, string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(Reference.RepoRoot(), "fuzz", "corpus")).Order(StringComparer.Ordinal))
            foreach (var file in Directory.GetFiles(dir, "finding-*").Order(StringComparer.Ordinal))
                data.Add(Path.GetFileName(dir), Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Findings))]
    public void AFindingIsRejectedWithTheReadersOwnError(string target, string file)
    {
        Assert.True(ReaderTargets.All.TryGetValue(target, out var reader), $"fuzz/corpus/{target}: no such fuzz target");
        using var dir = new TempDir();
        string input = dir.File("input" + reader.Extension);
        File.Copy(Path.Combine(Reference.RepoRoot(), "fuzz", "corpus", target, file), input);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<DataFormatException>(() => { reader.Read(input); });
        Assert.Contains(input, e.Message);                               // the error names the file
        Assert.True(clock.Elapsed.TotalSeconds < 5, $"{file} took {clock.Elapsed.TotalSeconds:F1} s");
        // A forged header must not make the reader allocate what it claims (the inputs are under 1 KB).
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20, $"{file}: allocated {(GC.GetTotalAllocatedBytes(true) - before) >> 20} MB");
    }
}
