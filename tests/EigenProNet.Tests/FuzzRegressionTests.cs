using System.Diagnostics;
using EigenProNet.Fuzz;
using EigenProNet.Data;
using EigenProNet.Dynamics;

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
        string input = reader.Place(File.ReadAllBytes(Path.Combine(Reference.RepoRoot(), "fuzz", "corpus", target, file)), dir.File("scratch"));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var e = Record.Exception(() => reader.Read(input));
        Assert.NotNull(e);
        Assert.True(reader.IsDocumented(e), $"{file}: {e.GetType().Name}: {e.Message}");
        if (e is DataFormatException) Assert.Contains(input, e.Message);   // the reader's error names the file (or folder)
        Assert.True(clock.Elapsed.TotalSeconds < 5, $"{file} took {clock.Elapsed.TotalSeconds:F1} s");
        // A forged header must not make the reader allocate what it claims (the inputs are at most a few KB).
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20, $"{file}: allocated {(GC.GetTotalAllocatedBytes(true) - before) >> 20} MB");
    }

    [Fact]
    public void AFolderBundleUnpacksToTheFilesItWasPackedFrom()
    {
        using var dir = new TempDir();
        string source = dir.File("source");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "a.txt"), "first\n");
        File.WriteAllBytes(Path.Combine(source, "sub", "b.npy"), [0, 10, 255, 64]);
        File.WriteAllText(Path.Combine(source, "empty"), "");
        byte[] bundle = FileBundle.Pack(source);
        string copy = dir.File("copy");
        FileBundle.Unpack(bundle, copy);
        Assert.Equal(["a.txt", "empty", "sub/b.npy"], Directory.GetFiles(copy, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(copy, f).Replace('\\', '/')).Order(StringComparer.Ordinal));
        Assert.Equal("first\n", File.ReadAllText(Path.Combine(copy, "a.txt")));
        Assert.Equal([0, 10, 255, 64], File.ReadAllBytes(Path.Combine(copy, "sub", "b.npy")));
        Assert.Empty(File.ReadAllBytes(Path.Combine(copy, "empty")));
        // Names the harness does not place (outside the folder, absolute, odd characters) are dropped, not followed.
        string hostile = dir.File("hostile");
        FileBundle.Unpack("@file ../escape\nx\n@file /abs\ny\n@file ok\nz"u8, hostile);
        Assert.Equal(["ok"], Directory.GetFiles(hostile).Select(Path.GetFileName));
        Assert.False(File.Exists(dir.File("escape")));
    }

    [Fact]
    public void TheResumeTargetsSeedRunResumes()
    {
        // The seed of the dynamics-resume target is a run the target continues: a corpus whose seed were refused would
        // fuzz only the first check.
        using var dir = new TempDir();
        string run = dir.File("run");
        ResumeTarget.WriteSeed(run);
        string input = ReaderTargets.All["dynamics-resume"].Place(FileBundle.Pack(run), dir.File("scratch"));
        ResumeTarget.Resume(input);
        Assert.Equal(2, DynamicsRun.Read(input).Snapshots.Count(s => s.Epoch is double e && e == Math.Floor(e) && e > 0));
    }
}
