using System.CommandLine;
using System.Diagnostics;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Cli;

/// <summary><c>train --memory-map</c>: training rows mapped from a float32 .npy, their labels, and the test data.</summary>
internal sealed class MappedRows : IDisposable
{
    private MappedRows(NpyRows rows, Matrix targets, int classCount, Dataset? test, double loadSeconds)
    {
        Rows = rows;
        Targets = targets;
        ClassCount = classCount;
        Test = test;
        LoadSeconds = loadSeconds;
    }

    public NpyRows Rows { get; }
    public Matrix Targets { get; }
    public int ClassCount { get; }
    public Dataset? Test { get; }
    public double LoadSeconds { get; }

    public static MappedRows Open(ParseResult p, DataOptions data, Option<string?> labels, SampleOptions samples, Option<double?> validation,
        Option<string> scaling, string solver)
    {
        if (solver is not ("eigenpro3" or "eigenpro4"))
            throw new UsageException($"--memory-map trains EigenPro 3 or 4 (--solver eigenpro3|eigenpro4), found --solver {solver}.");
        if (p.GetValue(labels) is not string labelPath) throw new UsageException("--memory-map needs --labels FILE.npy with the class of every row.");
        if (p.GetValue(scaling) is not ("auto" or "none"))
            throw new UsageException("--memory-map uses the rows as stored (scale them when writing the .npy); drop --scaling.");
        if (p.GetValue(samples.TrainRows) is not null || p.GetValue(validation) is not null)
            throw new UsageException("--memory-map trains on every row of --data: drop --train-rows and --validation-fraction.");
        var clock = Stopwatch.StartNew();
        string path = p.GetValue(data.Data)!;
        if (!path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--memory-map needs --data FILE.npy, found {path}.");
        var rows = new NpyRows(path);
        try
        {
            var (targets, classes) = ReadLabels(labelPath, rows.Count);
            Dataset? test = null;
            if (p.GetValue(data.Test) is string testPath)
            {
                test = DatasetLoader.Load(testPath).Train;
                if (test.Dimension != rows.Dimension)
                    throw new DataFormatException($"{testPath}: {test.Dimension} features, the training rows {rows.Dimension}.");
                if (!test.IsClassification) throw new DataFormatException($"{testPath}: expected class labels like --labels.");
                if (test.ClassCount > classes) (targets, classes) = (Widen(targets, test.ClassCount), test.ClassCount);
                else if (test.ClassCount < classes) test = new Dataset(test.Features, test.Labels!, classes, test.Source);
            }
            return new MappedRows(rows, targets, classes, test, clock.Elapsed.TotalSeconds);
        }
        catch
        {
            rows.Dispose();
            throw;
        }
    }

    /// <summary>n integer labels as one-hot targets.</summary>
    private static (Matrix Targets, int Classes) ReadLabels(string path, long rows)
    {
        var labels = Npy.ReadLabels(path, rows);
        int classes = labels.Length == 0 ? 0 : labels.Max() + 1;
        return (Preprocessing.OneHot(labels, classes), classes);
    }

    private static Matrix Widen(Matrix targets, int classes)
    {
        var wide = new Matrix(targets.Rows, classes);
        for (int i = 0; i < targets.Rows; i++) targets.Row(i).CopyTo(wide.Row(i));
        return wide;
    }

    public void Dispose() => Rows.Dispose();
}
