using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Cli;

/// <summary><c>eigenpro predict</c> (write predictions) and <c>eigenpro evaluate</c> (metrics only) with a saved model.</summary>
internal static class PredictCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr, bool evaluateOnly)
    {
        var common = new CommonOptions();
        var data = new DataOptions();
        var model = new Option<string>("--model") { Description = "A model file written by 'eigenpro train --save'.", Required = true };
        var predictions = new Option<string?>("--predictions")
        {
            Description = "Write predictions here: .csv (predicted class or outputs per row) or .npy (the output matrix) (default: not written, only scored).",
        };
        var split = new Option<string>("--split") { Description = "Which part of a dataset with its own test split: test | train.", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "train");
        string name = evaluateOnly ? "evaluate" : "predict";
        var command = new Command(name, evaluateOnly
            ? """
              Score a saved model on data (accuracy and MSE when the data has labels).

              Examples:
                eigenpro evaluate --model model.epn --data data/cifar10-sample
                eigenpro evaluate --model model.epn --data fashion-mnist --json
              """
            : """
              Predict with a saved model; scores the predictions too when the data has labels.

              Examples:
                eigenpro predict --model model.epn --data data/cifar10-sample --predictions predictions.csv
                eigenpro predict --model model.epn --data new_rows.npy --predictions outputs.npy --json
              """)
        { model, split };
        if (!evaluateOnly) command.Add(predictions);
        data.AddTo(command);
        common.AddTo(command);

        command.SetAction(p =>
        {
            var clock = Stopwatch.StartNew();
            var budget = common.Budget(p);
            var compute = common.Compute(p);
            common.CheckOut(p);
            string? predictionsPath = evaluateOnly ? null : p.GetValue(predictions);
            CommonOptions.CheckWritable(predictionsPath, "--predictions");
            if (predictionsPath is not null && !predictionsPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && !predictionsPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--predictions {predictionsPath}: expected a .csv or .npy file name.");
            var saved = ModelFile.Load(p.GetValue(model)!);
            var m = saved.Model;
            var (loaded, _, loadSeconds) = data.Load(p);
            var rows = p.GetValue(split) == "test" && loaded.Test is not null ? loaded.Test : loaded.Train;
            if (rows.Dimension != m.Dimension)
                throw new InvalidDataException($"{rows.Source}: {rows.Dimension} features, but the model was trained on {m.Dimension}.");
            var outputs = m.Predict(rows.Features, budget, context: compute);
            double? accuracy = null, mse = null;
            if (rows.Labels is not null && m.ClassCount > 0)
            {
                if (rows.ClassCount > m.ClassCount)
                    throw new InvalidDataException($"{rows.Source}: labels of {rows.ClassCount} classes, but the model knows {m.ClassCount}.");
                accuracy = Metrics.Accuracy(outputs, rows.Labels);
                mse = Metrics.MeanSquaredError(outputs, rows.Labels);
            }
            else if (rows.Targets is not null && rows.Targets.Columns == m.OutputCount)
                mse = Metrics.MeanSquaredError(outputs, rows.Targets);
            if (predictionsPath is not null) WritePredictions(predictionsPath, outputs, m);
            var human = common.Human(p, stdout, stderr);
            human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{rows.Source}: {rows.Count} rows{(accuracy is double a ? $", accuracy {100 * a:F2}%" : "")}{(mse is double e ? $", MSE {e:G4}" : "")} ({clock.Elapsed.TotalSeconds:F2} s)"));
            if (predictionsPath is not null) human.WriteLine($"predictions written to {predictionsPath}");
            common.Emit(p, new
            {
                Command = name,
                Model = p.GetValue(model),
                Data = rows.Source,
                Rows = rows.Count,
                Accuracy = accuracy,
                Mse = mse,
                Predictions = predictionsPath,
                LoadSeconds = loadSeconds,
                Seconds = clock.Elapsed.TotalSeconds,
            }, stdout);
            return EigenProCli.Ok;
        });
        return command;
    }

    private static void WritePredictions(string path, Matrix outputs, KernelModel model)
    {
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) { Npy.Write(path, outputs); return; }
        if (model.ClassCount > 0)
        {
            var classes = Metrics.ArgMax(outputs);
            var table = new Matrix(outputs.Rows, 1 + outputs.Columns);
            for (int i = 0; i < outputs.Rows; i++)
            {
                table[i, 0] = classes[i];
                outputs.Row(i).CopyTo(table.Row(i)[1..]);
            }
            var header = new List<string> { "predicted_class" };
            header.AddRange(Enumerable.Range(0, outputs.Columns).Select(j => model.ClassNames is { } names ? $"output_{Sanitize(names[j])}" : $"output_{j}"));
            CsvTable.Write(path, table, header);
        }
        else CsvTable.Write(path, outputs, Enumerable.Range(0, outputs.Columns).Select(j => $"output_{j}").ToList());
    }

    private static string Sanitize(string name) => new(name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
}
