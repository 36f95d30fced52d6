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

    /// <summary>
    /// What is left of the budget while <paramref name="parts"/> are held (a solver's lasting state: centers,
    /// preconditioner, weights), for the buffers sized after them.
    /// </summary>
    /// <exception cref="MemoryBudgetExceededException">The parts alone take the budget; the message itemises them.</exception>
    public MemoryBudget After(string purpose, params (string Part, long Bytes)[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        long held = parts.Sum(p => p.Bytes);
        // Some room must be left for the buffers: one row of anything, at least 1 MiB.
        if (Bytes - held < 1L << 20) throw new MemoryBudgetExceededException(Itemised(purpose, held, parts));
        return new MemoryBudget(Bytes - held);
    }

    /// <summary>
    /// Refuses up front, with the estimate itemised, a computation whose parts (held at once at its peak) need more
    /// than the budget.
    /// </summary>
    /// <exception cref="MemoryBudgetExceededException">The parts need more than the budget.</exception>
    public void Require(string purpose, params (string Part, long Bytes)[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        long need = parts.Sum(p => p.Bytes);
        if (need > Bytes) throw new MemoryBudgetExceededException(Itemised(purpose, need, parts));
    }

    private string Itemised(string purpose, long total, (string Part, long Bytes)[] parts) =>
        $"{purpose} needs an estimated {Format(total)} ({string.Join(", ", parts.Where(p => p.Bytes > 0).Select(p => $"{p.Part} {Format(p.Bytes)}"))}), more than the memory budget of {this}; raise the budget or shrink the run.";

    /// <summary>A fraction of the budget, for one of several buffers alive at the same time.</summary>
    public MemoryBudget Share(double fraction)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Expected a fraction in (0, 1].");
        return new MemoryBudget(Math.Max(1, (long)(Bytes * fraction)));
    }

    /// <summary>
    /// Returns the garbage of a finished phase of a long run (a preconditioner's build, a solve before an AGOP) to the
    /// operating system before the next phase allocates its own buffers: otherwise the collector may keep the dead
    /// buffers mapped and the process peaks at the sum of the phases instead of the larger one. A blocking, compacting
    /// collection costs milliseconds to a few tenths of a second; the phases it separates take seconds to minutes.
    /// </summary>
    internal static void ReleaseBetweenPhases() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

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
