using System.Collections;
using System.Globalization;
using System.Reflection;
using EigenProNet.Dynamics;
using EigenProNet.FeatureLearning;
using EigenProNet.Networks;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>
/// docs/library.md's option tables against the code, both ways: every public option of every options record is
/// documented (in its own table, or its base record's), every documented option exists, and every default is the
/// one a fresh record holds.
/// </summary>
public class LibraryOptionsDocumentationTests
{
    private static readonly Type[] Concrete =
    [
        typeof(EigenPro2Options), typeof(EigenPro3Options), typeof(EigenPro4Options), typeof(KernelTrainerOptions),
        typeof(RecursiveFeatureMachineOptions), typeof(NetworkTrainerOptions), typeof(DynamicsOptions), typeof(DynamicsComparisonOptions),
    ];

    /// <summary>Option name → the default as written (the first `…` of the Default column), per table.</summary>
    private static Dictionary<string, Dictionary<string, string>> Tables()
    {
        var lines = File.ReadAllLines(Path.Combine(Reference.RepoRoot(), "docs", "library.md"));
        var tables = new Dictionary<string, Dictionary<string, string>>();
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (!line.StartsWith("<!-- options: ", StringComparison.Ordinal)) continue;
            string name = line["<!-- options: ".Length..^"-->".Length].Trim();
            var rows = new Dictionary<string, string>();
            for (int j = i + 3; j < lines.Length && lines[j].StartsWith('|'); j++)
            {
                var cells = lines[j].Split('|', StringSplitOptions.TrimEntries);
                Assert.True(cells.Length >= 4, $"docs/library.md table {name}: malformed row '{lines[j]}'");
                Assert.True(rows.TryAdd(cells[1].Trim('`'), cells[2].Trim('`')), $"table {name} lists {cells[1]} twice");
            }
            tables.Add(name, rows);
        }
        return tables;
    }

    /// <summary>A default as the tables write it.</summary>
    private static string Written(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f when value.GetType().IsPrimitive => f.ToString(null, CultureInfo.InvariantCulture),
        Enum e => e.ToString(),
        IEnumerable items when value is not string => "[" + string.Join(", ", items.Cast<object>().Select(Written)) + "]",
        _ => "new()",
    };

    [Fact]
    public void EveryOptionIsDocumentedWithTheDefaultItHas()
    {
        var tables = Tables();
        var documented = new HashSet<(string Table, string Option)>();
        foreach (var type in Concrete)
        {
            var fresh = Activator.CreateInstance(type)!;
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
            {
                // The nearest table on the way from the type to the property's declaring record documents it.
                string? table = null;
                for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
                {
                    if (tables.TryGetValue(t.Name, out var rows) && rows.ContainsKey(property.Name)) { table = t.Name; break; }
                    if (t == property.DeclaringType) break;
                }
                Assert.True(table is not null, $"docs/library.md documents no {type.Name}.{property.Name}");
                documented.Add((table!, property.Name));
                string expected = Written(property.GetValue(fresh));
                string written = tables[table!][property.Name];
                bool same = written == expected
                    || (double.TryParse(written, NumberStyles.Float, CultureInfo.InvariantCulture, out double w)
                        && double.TryParse(expected, NumberStyles.Float, CultureInfo.InvariantCulture, out double e) && w == e);
                Assert.True(same, $"docs/library.md table {table}: {property.Name} defaults to `{written}`, {type.Name} has {expected}");
            }
        }
        var stale = tables.SelectMany(t => t.Value.Keys.Select(o => (t.Key, o))).Where(x => !documented.Contains(x)).ToList();
        Assert.True(stale.Count == 0, $"docs/library.md documents options no record has (or a derived table repeats): {string.Join(", ", stale)}");
    }
}
