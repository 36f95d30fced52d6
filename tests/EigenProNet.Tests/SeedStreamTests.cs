using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Preconditioning;
using EigenProNet.Solvers;

namespace EigenProNet.Tests;

/// <summary>One stream per purpose (issue 26, defect 1): the streams of one seed are unrelated, and no solver's samples repeat its shuffles.</summary>
public class SeedStreamTests
{
    private static readonly int[] Purposes =
    [
        SeedStreams.NetworkWeights, SeedStreams.NetworkBiases, SeedStreams.EpochShuffle, SeedStreams.EvaluationRows,
        SeedStreams.NystromSample, SeedStreams.CenterRows, SeedStreams.ProjectionPreconditioner, SeedStreams.ProjectionShuffle,
        SeedStreams.AgopRows, SeedStreams.StudySubsample, SeedStreams.TrainRows, SeedStreams.TestRows, SeedStreams.ValidationSplit,
        SeedStreams.ResampleModel,
    ];

    [Fact]
    public void PurposesAreDistinctAndEverySeedOfThemDiffers()
    {
        Assert.Equal(Purposes.Length, Purposes.Distinct().Count());
        // Nearby user seeds, every purpose, indices 0–9: no two of the 14 000 derived seeds coincide.
        var seeds = new HashSet<int>();
        for (int seed = 0; seed < 100; seed++)
            foreach (int purpose in Purposes)
                for (int index = 0; index < 10; index++)
                    Assert.True(seeds.Add(SeedStreams.Derive(seed, purpose, index)), $"seed {seed}, purpose {purpose}, index {index} repeats a stream");
        Assert.All(seeds, s => Assert.True(s >= 0));
        Assert.Equal(SeedStreams.Derive(7, SeedStreams.EpochShuffle, 3), SeedStreams.Derive(7, SeedStreams.EpochShuffle, 3));
    }

    [Fact]
    public void SamplesOfDifferentPurposesOverlapAsIndependentDrawsDo()
    {
        // Two independent draws of s of n rows share s²/n of them on average (hypergeometric, variance ≈ s²/n·(1 − s/n)²).
        // One generator reused for both purposes — the defect — would share all s.
        const int n = 2000, s = 200;
        double mean = (double)s * s / n, sd = Math.Sqrt(mean) * (1 - (double)s / n);
        double total = 0;
        int pairs = 0;
        for (int seed = 1; seed <= 20; seed++)
            for (int a = 0; a < Purposes.Length; a++)
                for (int b = a + 1; b < Purposes.Length; b++)
                {
                    var first = Preprocessing.Permutation(n, SeedStreams.Create(seed, Purposes[a]))[..s];
                    var second = Preprocessing.Permutation(n, SeedStreams.Create(seed, Purposes[b]))[..s];
                    int shared = first.Intersect(second).Count();
                    Assert.True(shared < mean + 6 * sd, $"seed {seed}: purposes {Purposes[a]} and {Purposes[b]} share {shared} of {s} rows (independent: {mean:F0} ± {sd:F1})");
                    total += shared;
                    pairs++;
                }
        // The average over 1 820 pairs is within 4 standard errors of the independent value.
        Assert.InRange(total / pairs, mean - 4 * sd / Math.Sqrt(pairs), mean + 4 * sd / Math.Sqrt(pairs));
    }

    /// <summary>Counts the weight rows the first batch of epoch 1 has touched.</summary>
    private sealed class FirstBatch : ITrainingObserver
    {
        public int[] Subsample = [];
        public HashSet<int> Touched = [];
        public void OnPreconditioner(NystromPreconditioner preconditioner) => Subsample = preconditioner.SubsampleIndices.ToArray();
        public void OnBatch(int epoch, int batch, KernelModel model)
        {
            if (epoch != 1 || batch != 1) return;
            for (int i = 0; i < model.Weights.Rows; i++)
                if (model.Weights.Row(i).ContainsAnyExcept(0f)) Touched.Add(i);
        }
    }

    [Fact]
    public void EigenPro2sFirstBatchIsNotItsNystromSubsample()
    {
        // EigenPro 2 updates α on the batch B and on the subsample S: were B = S (the defect: both the first s rows of
        // one permutation), the first batch would touch exactly the s subsample rows; independent, about 2s − s²/n.
        const int n = 400, s = 100;
        var x = Matrix.RandomNormal(n, 5, 3);
        var y = Matrix.RandomNormal(n, 2, 4);
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var watch = new FirstBatch();
            new EigenPro2(new LaplaceKernel(2), new EigenPro2Options { Epochs = 1, SubsampleSize = s, BatchSize = s, Seed = seed })
                .Fit(x, y, observer: watch);
            Assert.Equal(s, watch.Subsample.Length);
            int inSubsample = watch.Touched.Count(watch.Subsample.Contains);
            Assert.Equal(s, inSubsample);                                  // the correction reaches every subsample row
            Assert.InRange(watch.Touched.Count, 2 * s - 2 * s * s / n, 2 * s);   // 175 expected: the batch is a draw of its own
        }
    }
}
