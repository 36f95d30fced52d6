using System.Globalization;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Data;

/// <summary>How to read a CSV file; every field left null is detected from the file.</summary>
public sealed record CsvOptions
{
    /// <summary>Field separator; detected among ',', ';', tab and space when null.</summary>
    public char? Delimiter { get; init; }

    /// <summary>Whether the first line is a header; detected (a non-numeric feature field) when null.</summary>
    public bool? HasHeader { get; init; }

    /// <summary>The label/target column: a header name, or a 0-based index (negative counts from the end). Default: the last column.</summary>
    public string? LabelColumn { get; init; }

    /// <summary>Treat the label column as a real-valued target instead of class labels.</summary>
    public bool Regression { get; init; }
}

/// <summary>Delimited text files: one example per line, features numeric, one label (or target) column.</summary>
public static class CsvTable
{
    /// <summary>
    /// Loads <paramref name="path"/>. Class labels may be any strings; their sorted distinct values become classes
    /// 0…k−1 (numeric labels sort numerically). Pass <paramref name="classNames"/> (the training set's) to read a
    /// test file with the same classes.
    /// </summary>
    /// <exception cref="DataFormatException">Empty file, ragged rows, a non-numeric or non-finite feature, an unknown label (names file and line).</exception>
    public static Dataset Load(string path, CsvOptions? options = null, IReadOnlyList<string>? classNames = null)
    {
        options ??= new CsvOptions();
        var lines = new List<(long Line, string Text)>();
        using (var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true))
        {
            long number = 0;
            string? text;
            while ((text = reader.ReadLine()) is not null)
            {
                number++;
                if (!string.IsNullOrWhiteSpace(text)) lines.Add((number, text));
            }
        }
        if (lines.Count == 0) throw new DataFormatException($"{path}: the file is empty (expected delimited rows of numbers).");
        char delimiter = options.Delimiter ?? DetectDelimiter(lines[0].Text);
        var first = Split(lines[0].Text, delimiter);
        int columns = first.Length;
        if (columns < 2) throw DataFormatException.AtLine(path, lines[0].Line, $"found {columns} column; expected features and a label column (delimiter '{Show(delimiter)}').");
        int label = ResolveLabelColumn(options.LabelColumn, first, columns, path, options.HasHeader);
        bool header = options.HasHeader ?? first.Where((_, j) => j != label).Any(f => !TryNumber(f, out _));
        int start = header ? 1 : 0;
        if (lines.Count == start) throw new DataFormatException($"{path}: the file has a header but no data rows.");

        var x = new Matrix(lines.Count - start, columns - 1);
        var rawLabels = new string[x.Rows];
        var targets = options.Regression ? new Matrix(x.Rows, 1) : null;
        for (int i = start; i < lines.Count; i++)
        {
            var (line, text) = lines[i];
            var fields = Split(text, delimiter);
            if (fields.Length != columns) throw DataFormatException.AtLine(path, line, $"{fields.Length} fields, expected {columns} like the first line.");
            var row = x.Row(i - start);
            for (int j = 0, c = 0; j < columns; j++)
            {
                if (j == label) continue;
                if (!TryNumber(fields[j], out double v))
                    throw DataFormatException.AtLine(path, line, $"column {j + 1}: '{fields[j]}' is not a number.");
                if (!double.IsFinite(v) || !float.IsFinite((float)v))
                    throw DataFormatException.AtLine(path, line, $"column {j + 1}: '{fields[j]}' is not a finite float32 value.");
                row[c++] = (float)v;
            }
            string raw = fields[label].Trim().Trim('"');
            if (targets is not null)
            {
                if (!TryNumber(raw, out double t) || !double.IsFinite(t))
                    throw DataFormatException.AtLine(path, line, $"target column {label + 1}: '{raw}' is not a finite number.");
                targets[i - start, 0] = (float)t;
            }
            else
            {
                if (raw.Length == 0) throw DataFormatException.AtLine(path, line, $"label column {label + 1} is empty.");
                rawLabels[i - start] = TryNumber(raw, out double n) && n == Math.Round(n) ? ((long)n).ToString(CultureInfo.InvariantCulture) : raw;
            }
        }
        if (targets is not null) return new Dataset(x, targets, path);

        var names = classNames ?? SortLabels(rawLabels.Distinct());
        var index = names.Select((n, k) => (n, k)).ToDictionary(p => p.n, p => p.k, StringComparer.Ordinal);
        var labels = new int[x.Rows];
        for (int i = 0; i < labels.Length; i++)
            if (!index.TryGetValue(rawLabels[i], out labels[i]))
                throw DataFormatException.AtLine(path, lines[i + start].Line, $"label '{rawLabels[i]}' is not one of the {names.Count} training classes.");
        return new Dataset(x, labels, names.Count, path, names);
    }

    /// <summary>Writes a matrix as CSV with an optional header (atomically).</summary>
    public static void Write(string path, MatrixView values, IReadOnlyList<string>? header = null)
    {
        AtomicFile.Write(path, stream =>
        {
            using var w = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            if (header is not null) w.WriteLine(string.Join(',', header));
            for (int i = 0; i < values.Rows; i++)
            {
                var row = values.Row(i);
                for (int j = 0; j < row.Length; j++)
                {
                    if (j > 0) w.Write(',');
                    w.Write(row[j].ToString("R", CultureInfo.InvariantCulture));
                }
                w.WriteLine();
            }
        });
    }

    private static List<string> SortLabels(IEnumerable<string> labels)
    {
        var list = labels.ToList();
        if (list.All(l => long.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
            return list.OrderBy(l => long.Parse(l, CultureInfo.InvariantCulture)).ToList();
        return list.Order(StringComparer.Ordinal).ToList();
    }

    private static int ResolveLabelColumn(string? spec, string[] first, int columns, string path, bool? hasHeader)
    {
        if (spec is null) return columns - 1;
        if (int.TryParse(spec, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index))
        {
            int resolved = index < 0 ? columns + index : index;
            if (resolved < 0 || resolved >= columns)
                throw new ArgumentException($"{path}: label column {index} is outside the {columns} columns.");
            return resolved;
        }
        if (hasHeader == false) throw new ArgumentException($"{path}: label column '{spec}' given by name but the file has no header.");
        for (int j = 0; j < first.Length; j++)
            if (string.Equals(first[j].Trim().Trim('"'), spec, StringComparison.Ordinal)) return j;
        throw new ArgumentException($"{path}: no column named '{spec}' in the header ({string.Join(", ", first.Select(f => f.Trim()))}).");
    }

    private static char DetectDelimiter(string line)
    {
        foreach (char c in new[] { ',', ';', '\t' })
            if (line.Contains(c)) return c;
        return ' ';
    }

    private static string[] Split(string line, char delimiter) =>
        delimiter == ' ' ? line.Split(' ', StringSplitOptions.RemoveEmptyEntries) : line.Split(delimiter);

    private static bool TryNumber(string field, out double value) =>
        double.TryParse(field.Trim().Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static string Show(char c) => c == '\t' ? "\\t" : c.ToString();
}
