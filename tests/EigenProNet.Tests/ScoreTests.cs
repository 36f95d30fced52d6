using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>
/// <c>Score</c> on every model, from arrays as well as datasets: accuracy for labels, −MSE for targets, each checked
/// against the predictions scored by hand in float64.
/// </summary>
public class ScoreTests
{
    private static readonly Kernel Kernel = new LaplaceKernel(2);

    /// <summary>Three Gaussian blobs in 6 dimensions, with a regression target (a smooth function of x, two outputs).</summary>
    private static (Matrix X, int[] Labels, Matrix Targets) Blobs(int n, int seed)
    {
        var x = Matrix.RandomNormal(n, 6, seed);
        var labels = new int[n];
        var targets = new Matrix(n, 2);
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 3;
            x[i, labels[i]] += 3;
            targets[i, 0] = MathF.Sin(x[i, 0]) + 0.5f * x[i, 1];
            targets[i, 1] = x[i, 2] * x[i, 3] / 4;
        }
        return (x, labels, targets);
    }

    private static double AccuracyByHand(Matrix outputs, int[] labels)
    {
        int correct = 0;
        for (int i = 0; i < outputs.Rows; i++)
        {
            int best = 0;
            for (int j = 1; j < outputs.Columns; j++) if (outputs[i, j] > outputs[i, best]) best = j;
            if (best == labels[i]) correct++;
        }
        return (double)correct / outputs.Rows;
    }

    private static double NegativeMseByHand(Matrix outputs, Matrix targets)
    {
        double sum = 0;
        for (int i = 0; i < outputs.Rows; i++)
            for (int j = 0; j < outputs.Columns; j++) sum += Math.Pow((double)outputs[i, j] - targets[i, j], 2);
        return -sum / (outputs.Rows * outputs.Columns);
    }

    [Fact]
    public void AKernelModelScoresArraysOfLabelsAndOfTargets()
    {
        var (x, labels, targets) = Blobs(300, 1);
        var (tx, tlabels, ttargets) = Blobs(120, 2);

        var classifier = new EigenPro2(Kernel, new EigenPro2Options { Epochs = 2, Seed = 3 }).Fit(new Dataset(x, labels, 3, "blobs")).Model;
        double accuracy = classifier.Score(tx, tlabels);
        Assert.Equal(AccuracyByHand(classifier.Predict(tx), tlabels), accuracy, 12);
        Assert.Equal(classifier.Score(new Dataset(tx, tlabels, 3, "blobs-test")), accuracy, 12);
        Assert.InRange(accuracy, 0.9, 1.0);   // well-separated blobs: a trained model, not chance (1/3)

        var regressor = new DirectSolver(Kernel, ridge: 1e-3).Fit(new Dataset(x, targets, "smooth")).Model;
        double score = regressor.Score(tx, ttargets);
        Assert.Equal(NegativeMseByHand(regressor.Predict(tx), ttargets), score, 9);
        Assert.Equal(regressor.Score(new Dataset(tx, ttargets, "smooth-test")), score, 12);
        Assert.True(score < 0 && score > NegativeMseByHand(new Matrix(120, 2), ttargets), "better than predicting zero");

        // Mismatches are named before any kernel is evaluated.
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => classifier.Score(tx, tlabels[..10])).ParamName);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => regressor.Score(tx, new Matrix(119, 2))).ParamName);
        Assert.Throws<ArgumentException>(() => regressor.Score(tx, new Matrix(120, 3)));
        Assert.Contains("expects 6 features", Assert.Throws<ArgumentException>(() => classifier.Score(new Matrix(5, 4), new int[5])).Message);
    }

    [Fact]
    public void TheStreamingModelsScoreTheModelAsItTrains()
    {
        var (x, labels, _) = Blobs(400, 4);
        var (tx, tlabels, _) = Blobs(150, 5);
        var y = Preprocessing.OneHot(labels, 3);
        var centers = new Matrix(100, 6);
        for (int i = 0; i < 100; i++) x.Row(4 * i).CopyTo(centers.Row(i));
        var sample = new Matrix(80, 6);
        for (int i = 0; i < 80; i++) x.Row(5 * i + 1).CopyTo(sample.Row(i));

        var three = new EigenPro3Model(Kernel, centers, 3, sample, new EigenPro3Options { DataLevel = 20, Seed = 1 }, maxBatchSize: 100);
        var four = new EigenPro4Model(Kernel, centers, 3, sample, new EigenPro4Options { DataLevel = 20, ModelLevel = 20, Seed = 1 }, maxBatchSize: 100);
        for (int epoch = 0; epoch < 3; epoch++)
            for (int b = 0; b < 4; b++)
            {
                var xb = new Matrix(100, 6);
                var yb = new Matrix(100, 3);
                for (int i = 0; i < 100; i++) { x.Row(100 * b + i).CopyTo(xb.Row(i)); y.Row(100 * b + i).CopyTo(yb.Row(i)); }
                three.FitBatch(xb, yb);
                four.FitBatch(xb, yb);
            }
        var ty = Preprocessing.OneHot(tlabels, 3);
        foreach (var (predict, score, scoreTargets) in new (Func<Matrix>, Func<double>, Func<double>)[]
        {
            (() => three.Predict(tx), () => three.Score(tx, tlabels), () => three.Score(tx, ty)),
            (() => four.Predict(tx), () => four.Score(tx, tlabels), () => four.Score(tx, ty)),
        })
        {
            var outputs = predict();
            Assert.Equal(AccuracyByHand(outputs, tlabels), score(), 12);
            Assert.Equal(NegativeMseByHand(outputs, ty), scoreTargets(), 9);
            Assert.InRange(score(), 0.9, 1.0);
        }
        // Scoring EigenPro 4's model reads it as it trains: nothing is projected, later batches see the same state.
        int pending = four.PendingTemporaryCenters;
        _ = four.Score(tx, tlabels);
        Assert.Equal(pending, four.PendingTemporaryCenters);
        // The streamed EigenPro 3 model scores what its KernelModel snapshot scores.
        Assert.Equal(three.ToModel(classCount: 3).Score(tx, tlabels), three.Score(tx, tlabels), 12);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => three.Score(tx, new int[3])).ParamName);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => four.Score(tx, new Matrix(3, 3))).ParamName);
    }
}
