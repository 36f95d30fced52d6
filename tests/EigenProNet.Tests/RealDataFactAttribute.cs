using EigenProNet.Data;

namespace EigenProNet.Tests;

/// <summary>
/// Real data that lives outside the repository: the shared folder beside it (CIFAR-10 batches, the UCI collection)
/// and Debian's Fashion-MNIST package. A clone on its own has none of it, so tests that need it skip there with
/// the reason; CI sets <c>EIGENPRO_REQUIRE_REAL_DATA=1</c>, and then they run and fail loudly if it is missing.
/// </summary>
internal static class RealData
{
    public static string CifarFolder => Path.Combine(Reference.SharedData, "cifar-10-batches-bin");
    public static string UciRoot => Path.Combine(Reference.SharedData, "uci");

    public static bool Required => Environment.GetEnvironmentVariable("EIGENPRO_REQUIRE_REAL_DATA") == "1";

    /// <summary>Debian's Python with NumPy, for tests that check our files in the reader users have.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Debian's Chromium, which renders the dynamics report in the report test.</summary>
    public const string Chromium = "/usr/bin/chromium";

    private static readonly Lazy<bool> NumPyAvailable = new(() =>
    {
        if (!File.Exists(Python)) return false;
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Python, ["-c", "import numpy"])
                { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    /// <summary>The skip reason when <paramref name="kind"/> is absent (and not required), else null.</summary>
    public static string? SkipReason(RealDataKind kind)
    {
        if (kind == RealDataKind.Chromium)
            return File.Exists(Chromium) || Required ? null : $"Needs Debian's chromium ({Chromium}; apt-get install chromium) to render the report; CI installs it.";
        if (kind == RealDataKind.NumPy)
            return NumPyAvailable.Value || Required ? null : "Needs a real NumPy (apt-get install python3-numpy) at /usr/bin/python3; CI installs it.";
        var (path, what) = kind switch
        {
            RealDataKind.Cifar10 => (CifarFolder, "the full CIFAR-10 batches (../shared/data/cifar-10-batches-bin beside the repository)"),
            RealDataKind.Uci => (UciRoot, "the UCI collection (../shared/data/uci beside the repository)"),
            _ => (IdxFile.DebianFashionMnist, "Fashion-MNIST (apt-get install dataset-fashion-mnist)"),
        };
        if (Directory.Exists(path) || Required) return null;
        return $"Needs {what}, which is not here ({path}); CI provides it.";
    }
}

/// <summary>Which outside dataset (or tool) a test needs.</summary>
internal enum RealDataKind { Cifar10, Uci, FashionMnist, NumPy, Chromium }

/// <summary>A fact that needs real data from outside the repository (see <see cref="RealData"/>).</summary>
internal sealed class RealDataFactAttribute : FactAttribute
{
    public RealDataFactAttribute(RealDataKind kind) => Skip = RealData.SkipReason(kind);
}
