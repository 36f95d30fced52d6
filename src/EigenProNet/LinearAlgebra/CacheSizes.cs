using System.Globalization;

namespace EigenProNet.LinearAlgebra;

/// <summary>
/// Per-core data cache sizes, read once from the operating system (Linux sysfs) where it reports them, else typical
/// values of current x86 and ARM cores. The GEMM derives its blocking from these, not from one tuned CPU.
/// </summary>
internal sealed record CacheSizes(long L1Data, long L2)
{
    /// <summary>32 KiB L1d and 512 KiB L2: the smaller of the common server and laptop cores.</summary>
    public static CacheSizes Fallback { get; } = new(32 << 10, 512 << 10);

    public static CacheSizes Current { get; } = Detect();

    private static CacheSizes Detect()
    {
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(root)) return Fallback;
            long l1 = 0, l2 = 0;
            foreach (var dir in Directory.EnumerateDirectories(root, "index*"))
            {
                string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                if (type == "Instruction") continue;
                int level = int.Parse(File.ReadAllText(Path.Combine(dir, "level")).Trim(), CultureInfo.InvariantCulture);
                long size = ParseSize(File.ReadAllText(Path.Combine(dir, "size")).Trim());
                if (level == 1) l1 = size;
                else if (level == 2) l2 = size;
            }
            // Implausible readings (virtual machines sometimes report none or nonsense) fall back to the defaults.
            if (l1 < 8 << 10 || l1 > 4 << 20) l1 = Fallback.L1Data;
            if (l2 < 128 << 10 || l2 > 64 << 20) l2 = Fallback.L2;
            return new CacheSizes(l1, l2);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return Fallback;
        }
    }

    internal static long ParseSize(string text)
    {
        long factor = 1;
        if (text.EndsWith('K')) { factor = 1 << 10; text = text[..^1]; }
        else if (text.EndsWith('M')) { factor = 1 << 20; text = text[..^1]; }
        return long.Parse(text, CultureInfo.InvariantCulture) * factor;
    }
}
