using System.CommandLine;

namespace EigenProNet.Cli;

/// <summary>
/// "Did you mean …?" for a mistyped option or command: the closest name the command accepts, by edit distance
/// (transpositions count once), when it is close enough to be a typo rather than another word.
/// </summary>
internal static class Suggestions
{
    /// <summary>The closest option (for a token starting with '-') or subcommand of <paramref name="command"/>, or null.</summary>
    public static string? For(string token, Command command, IEnumerable<Command> ancestors)
    {
        IEnumerable<string> names = token.StartsWith('-')
            ? command.Options.Concat(ancestors.SelectMany(a => a.Options.Where(o => o.Recursive)))
                .SelectMany(o => o.Aliases.Prepend(o.Name))
            : command.Subcommands.Select(c => c.Name);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var name in names.Distinct())
        {
            int d = Distance(token, name);
            // A typo is a small fraction of the word: ≤ 1 edit for short names, ≤ 2 from 5 characters, ≤ 3 from 9.
            int allowed = Math.Clamp(name.TrimStart('-').Length / 3, 1, 3);
            bool prefix = name.StartsWith(token, StringComparison.Ordinal) && token.TrimStart('-').Length >= 3;
            if ((d <= allowed || prefix) && d < bestDistance) (best, bestDistance) = (name, d);
        }
        return best;
    }

    /// <summary>Optimal string alignment distance (Levenshtein with adjacent transpositions).</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
