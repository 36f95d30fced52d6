using System.Globalization;

namespace EigenProNet.LinearAlgebra;

/// <summary>A computation needs more working memory than its <see cref="MemoryBudget"/> allows; the message says how much.</summary>
public sealed class MemoryBudgetExceededException(string message) : InvalidOperationException(message);

/// <summary>
/// The most memory one routine may use for its temporary blocks (kernel-matrix blocks, packed panels).
/// Block sizes are derived from it so that no routine ever allocates an n×n kernel matrix behind the user's back.
/// </summary>
public sealed record MemoryBudget
{
    /// <summary>Fraction of the memory available to the process that <see cref="Default"/> takes.</summary>
    public const double DefaultFraction = 0.25;

    /// <summary>Budget in bytes.</summary>
    public long Bytes { get; }

    /// <summary>A budget of <paramref name="bytes"/> bytes.</summary>
    public MemoryBudget(long bytes)
    {
        if (bytes <= 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "Expected a positive number of bytes.");
        Bytes = bytes;
    }

    /// <summary>A quarter of the memory available to the process (physical memory or the container limit).</summary>
    public static MemoryBudget Default { get; } =
        new(Math.Max(64L << 20, (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * DefaultFraction)));

    /// <summary>Parses "512MiB", "2GiB", "1.5GB", "1000000" (bytes).</summary>
    /// <exception cref="FormatException">The text is not a size.</exception>
    public static MemoryBudget Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        (string suffix, double factor)[] units =
        [
            ("KiB", 1024.0), ("MiB", 1024.0 * 1024), ("GiB", 1024.0 * 1024 * 1024),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("K", 1024.0), ("M", 1024.0 * 1024), ("G", 1024.0 * 1024 * 1024), ("B", 1),
        ];
        double factor = 1;
        foreach (var (suffix, f) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                factor = f;
                t = t[..^suffix.Length].Trim();
                break;
            }
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0) || double.IsInfinity(value))
            throw new FormatException($"Expected a memory size such as 512MiB or 2GiB, found '{text}'.");
        return new MemoryBudget((long)Math.Min(long.MaxValue / 2, value * factor));
    }

    /// <summary>
    /// How many rows of <paramref name="bytesPerRow"/> bytes fit, capped at <paramref name="maxRows"/>.
    /// </summary>
    /// <exception cref="MemoryBudgetExceededException">Not even <paramref name="minRows"/> rows fit; the message says how much is needed.</exception>
    public int RowsThatFit(long bytesPerRow, int maxRows, int minRows = 1, string purpose = "a block")
    {
        if (bytesPerRow <= 0) return Math.Max(minRows, maxRows);
        long rows = Bytes / bytesPerRow;
        int need = Math.Min(minRows, Math.Max(1, maxRows));
        if (rows < need)
            throw new MemoryBudgetExceededException(
                $"The memory budget of {Format(Bytes)} is too small for {purpose}: {need} row(s) of {Format(bytesPerRow)} need {Format(need * bytesPerRow)}; raise the budget.");
        return (int)Math.Max(need, Math.Min(rows, maxRows));
    }

    /// <summary>Human-readable size, e.g. "1.50 GiB".</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => $"{bytes} B",
    };

    /// <inheritdoc/>
    public override string ToString() => Format(Bytes);
}
