using EigenProNet.Fuzz;
using Xunit;

namespace EigenProNet.Fuzz.Coverage;

/// <summary>Replays every input of a fuzz target's queue (named by fuzz/coverage.sh) so coverlet records what they run.</summary>
public class QueueReplay
{
    [Fact]
    public void EveryQueuedInputIsReadOrRejectedAsDocumented()
    {
        string? name = Environment.GetEnvironmentVariable("EIGENPRO_FUZZ_TARGET"), queue = Environment.GetEnvironmentVariable("EIGENPRO_FUZZ_QUEUE");
        Assert.False(name is null || queue is null, "run by fuzz/coverage.sh, which names the target and its queue (EIGENPRO_FUZZ_TARGET, EIGENPRO_FUZZ_QUEUE)");
        var target = ReaderTargets.All[name!];
        var inputs = Directory.GetFiles(queue!).Where(f => Path.GetFileName(f).StartsWith("id:", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(inputs);
        string scratch = Path.Combine(Path.GetTempPath(), $"epn-coverage-{Environment.ProcessId}");
        var findings = new List<string>();
        foreach (var file in inputs)
        {
            string path = target.Place(File.ReadAllBytes(file), scratch);
            try { target.Read(path); }
            catch (Exception e) when (target.IsDocumented(e)) { }
            catch (Exception e) { findings.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}"); }
        }
        Directory.Delete(scratch, recursive: true);
        Assert.True(findings.Count == 0, string.Join("\n", findings));
    }
}
