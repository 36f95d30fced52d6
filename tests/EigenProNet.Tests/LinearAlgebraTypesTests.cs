using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class LinearAlgebraTypesTests
{
    [Fact]
    public void ViewsShareStorageWithoutCopying()
    {
        var m = new Matrix(4, 5);
        var block = m.View.Block(1, 2, 2, 3);
        block[1, 2] = 7f;
        Assert.Equal(7f, m[2, 4]);
        var rows = m.RowBlock(2, 2);
        Assert.Equal(7f, rows[0, 4]);
        Assert.False(block.IsContiguous);
        Assert.True(rows.IsContiguous);
        Assert.Throws<InvalidOperationException>(() => block.AsSpan());
        Assert.Throws<ArgumentOutOfRangeException>(() => m.RowBlock(3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.View.Block(0, 3, 1, 3));
        Assert.Throws<ArgumentException>(() => new MatrixView(new float[10], 0, 3, 4, 4));
        Assert.Throws<ArgumentException>(() => new Matrix(2, 3, new float[5]));
    }

    [Fact]
    public void MemoryBudgetParsesSizesAndBoundsBlocks()
    {
        Assert.Equal(512L << 20, MemoryBudget.Parse("512MiB").Bytes);
        Assert.Equal(2L << 30, MemoryBudget.Parse("2GiB").Bytes);
        Assert.Equal(1_500_000_000L, MemoryBudget.Parse("1.5GB").Bytes);
        Assert.Equal(4096L, MemoryBudget.Parse("4096").Bytes);
        Assert.Throws<FormatException>(() => MemoryBudget.Parse("lots"));
        Assert.Throws<FormatException>(() => MemoryBudget.Parse("-1GiB"));
        var budget = new MemoryBudget(1000);
        Assert.Equal(10, budget.RowsThatFit(100, 50));
        Assert.Equal(5, budget.RowsThatFit(100, 5));
        var e = Assert.Throws<MemoryBudgetExceededException>(() => budget.RowsThatFit(2000, 50, 1, "a batch"));
        Assert.Contains("a batch", e.Message);
        Assert.Contains("raise the budget", e.Message);
        Assert.DoesNotContain("--", e.Message);   // library messages name no CLI flag; the CLI adds that advice
        Assert.True(MemoryBudget.Default.Bytes > 0);
    }

    [Fact]
    public void MemoryBudgetItemisesWhatARunHoldsAndSharesTheRest()
    {
        var budget = new MemoryBudget(100L << 20);
        var left = budget.After("a run", ("centers", 30L << 20), ("weights", 10L << 20));
        Assert.Equal(60L << 20, left.Bytes);
        Assert.Equal(15L << 20, left.Share(0.25).Bytes);
        budget.Require("a setup", ("a", 60L << 20), ("b", 40L << 20));   // exactly the budget fits
        var e = Assert.Throws<MemoryBudgetExceededException>(() => budget.Require("The setup of 9 centers", ("the centers", 70L << 20), ("its eigensolver", 40L << 20), ("nothing", 0)));
        Assert.Contains("The setup of 9 centers needs an estimated 110.0 MiB (the centers 70.0 MiB, its eigensolver 40.0 MiB)", e.Message);
        Assert.Contains("memory budget of 100.0 MiB", e.Message);
        // What is held must leave room for buffers (1 MiB at least).
        Assert.Contains("weights 99.5 MiB", Assert.Throws<MemoryBudgetExceededException>(() => budget.After("a run", ("weights", (100L << 20) - (512 << 10)))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => budget.Share(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => budget.Share(1.5));
    }

    [Fact]
    public void SimdDetectionListsScalarAndBest()
    {
        Assert.Contains(SimdPath.Scalar, SimdCapabilities.Supported);
        Assert.Equal(SimdCapabilities.Best, SimdCapabilities.Supported[^1]);
        // CI's AVX2 leg switches AVX-512 off and says which path it expects, so a runtime knob that stopped working
        // (as DOTNET_EnableAVX512F did in .NET 10) fails here instead of silently re-testing the 512-bit path.
        if (Environment.GetEnvironmentVariable("EIGENPRO_EXPECT_SIMD_PATH") is string expected)
            Assert.Equal(Enum.Parse<SimdPath>(expected), SimdCapabilities.Best);
    }
}
