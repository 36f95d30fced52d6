// The path of docs/library.md, "from float arrays to a saved and reloaded model", run against the EigenProNet package
// on the bundled CIFAR-10 sample: multi-class, then regression. Exit code 0 only when every check holds.
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Solvers;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: PackageConsumer <cifar10-sample directory> <scratch directory>");
    return 2;
}
// What a user starts from: float arrays (row-major n × d) and labels. Here they come from the sample's CIFAR-10
// batches, rows scaled to unit length.
var split = DatasetLoader.Load(args[0]);
var l2 = Preprocessor.Fit(Scaling.L2, split.Train.Features);
float[] xs = l2.Transform(split.Train.Features).Data, testXs = l2.Transform(split.Test!.Features).Data;
int[] labels = split.Train.Labels!, testLabels = split.Test.Labels!;
int n = labels.Length, m = testLabels.Length, d = split.Train.Dimension;

// The ten lines of docs/library.md.
var train = new Dataset(new Matrix(n, d, xs), labels, classCount: 10, source: "mine");
var solver = new EigenPro2(new LaplaceKernel(bandwidth: 1), new EigenPro2Options { Epochs = 2, Seed = 1 });
KernelModel model = solver.Fit(train).Model;
string path = Path.Combine(args[1], "mine.epn");
model.Save(path);
var loaded = KernelModel.Load(path);
int[] predicted = loaded.PredictClasses(new Matrix(m, d, testXs));
double accuracy = loaded.Score(new Matrix(m, d, testXs), testLabels);

var failures = new List<string>();
if (!predicted.SequenceEqual(model.PredictClasses(new Matrix(m, d, testXs)))) failures.Add("the reloaded model predicts differently");
if (accuracy < 0.35) failures.Add($"test accuracy {accuracy:P2} (the sample gives about 41 %)");
Console.WriteLine($"classification: {n} rows × {d} features, test accuracy {accuracy:P2}");

// Regression: real-valued targets (here the one-hot labels' first column and the mean pixel), Score is −MSE.
var targets = new Matrix(n, 2);
for (int i = 0; i < n; i++)
{
    targets[i, 0] = labels[i] == 0 ? 1 : 0;
    targets[i, 1] = split.Train.Features.Row(i).ToArray().Average() / 255f;
}
var regression = new DirectSolver(new LaplaceKernel(bandwidth: 1), ridge: 1e-3).Fit(new Dataset(new Matrix(n, d, xs), targets, "mine-regression")).Model;
double negMse = regression.Score(new Matrix(n, d, xs), targets);
if (!(negMse <= 0 && negMse > -1e-3)) failures.Add($"regression fit: −MSE {negMse}");
if (regression.Predict(new Matrix(m, d, testXs)).Columns != 2) failures.Add("regression outputs are not n × 2");
Console.WriteLine($"regression: training −MSE {negMse:G3}");

foreach (var f in failures) Console.Error.WriteLine("error: " + f);
return failures.Count == 0 ? 0 : 1;
