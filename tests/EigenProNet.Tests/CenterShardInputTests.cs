using EigenProNet.Distributed;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Sharding;

namespace EigenProNet.Tests;

/// <summary>What a shard refuses: malformed loads and requests, and wire messages whose shape does not match their bytes.</summary>
public class CenterShardInputTests
{
    private static ShardLoad Good(int p = 6, int d = 4, int q = 2) =>
        new("run", 0, 0, new KernelSpec("laplace", 2.0), null, Matrix.RandomNormal(p, d, 3), Matrix.RandomNormal(p, q, 4), 3, 5, 5);

    public static TheoryData<string, ShardLoad> BadLoads()
    {
        var good = Good();
        var nan = good.Centers.Clone();
        nan[1, 2] = float.NaN;
        return new TheoryData<string, ShardLoad>
        {
            { "at least one output", good with { Outputs = 0 } },
            { "the offset must be non-negative", good with { Offset = -1 } },
            { "the batch sizes must be at least 1", good with { MaxBatch = 0 } },
            { "the lift has 5 rows for 6 centers", good with { LiftAtCenters = Matrix.RandomNormal(5, 2, 1) } },
            { "the temporary capacity must be non-negative", good with { TemporaryCapacity = -2 } },
            { "centers", good with { Centers = nan } },
            { "Unknown kernel 'cosine'", good with { Kernel = new KernelSpec("cosine") } },
        };
    }

    [Theory]
    [MemberData(nameof(BadLoads))]
    public void AMalformedLoadIsRefusedNamingWhatIsWrong(string message, ShardLoad load)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new CenterShard(load));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ALoadBeyondTheBudgetIsRefusedItemised()
    {
        var e = Assert.Throws<MemoryBudgetExceededException>(() => new CenterShard(Good() with { MaxBatch = 1_000_000 }, new MemoryBudget(1L << 20)));
        Assert.Contains("K(X_B, Z_s) for batches of 1000000", e.Message);
    }

    [Fact]
    public void MalformedRequestsAreRefused()
    {
        var shard = new CenterShard(Good());
        Assert.Contains("needs the forward pass", Assert.Throws<InvalidOperationException>(() => shard.Backward(new BackwardStep(new Matrix(2, 3), new Matrix(2, 3)))).Message);
        Assert.Contains("Expected a batch of 1 to 5 rows, found 6", Assert.Throws<ArgumentException>(() => shard.Forward(Matrix.RandomNormal(6, 4, 1))).Message);
        Assert.Throws<ArgumentException>(() => shard.Forward(Matrix.RandomNormal(2, 7, 1)));   // another dimension
        var nan = Matrix.RandomNormal(2, 4, 1);
        nan[0, 0] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => shard.Forward(nan));
        shard.Forward(Matrix.RandomNormal(2, 4, 1));
        Assert.Throws<ArgumentException>(() => shard.Backward(new BackwardStep(new Matrix(3, 3), new Matrix(2, 3))));   // not the batch's residual
        Assert.Contains("not rows of the batch of 2", Assert.Throws<ArgumentException>(() =>
            shard.Backward(new BackwardStep(new Matrix(2, 3), new Matrix(2, 3), 0.1f, 1, 2))).Message);
        Assert.Contains("Out of capacity", Assert.Throws<InvalidOperationException>(() =>
            shard.Backward(new BackwardStep(new Matrix(2, 3), new Matrix(2, 3), 0.1f, 0, 1))).Message);   // no temporary centers loaded
        Assert.Contains("needs its residual", Assert.Throws<ArgumentException>(() =>
            shard.Project(new ProjectionRequest([0], null, null, null, 0.1f, null, null, null))).Message);
        Assert.Contains("one id each", Assert.Throws<ArgumentException>(() =>
            shard.Project(new ProjectionRequest(null, null, null, null, 0.1f, [0, 1], Matrix.RandomNormal(3, 4, 2), null))).Message);
        Assert.Throws<ArgumentException>(() => shard.SetWeights(new Matrix(5, 3)));
        var weights = new Matrix(6, 3);
        weights[0, 0] = float.NaN;
        Assert.Throws<ArgumentException>(() => shard.SetWeights(weights));
    }

    [Fact]
    public void AWireMatrixWhoseShapeDoesNotMatchItsBytesIsRefused()
    {
        var m = Matrix.RandomNormal(3, 2, 5);
        Assert.Equal(m.Data, MatrixMessage.From(m).ToMatrix().Data);
        var e = Assert.Throws<InvalidDataException>(() => new MatrixMessage(3, 3, new byte[24]).ToMatrix());
        Assert.Contains("shape (3, 3) carries 24 bytes", e.Message);
        Assert.Throws<InvalidDataException>(() => new MatrixMessage(-1, 2, []).ToMatrix());
        Assert.Throws<InvalidDataException>(() => new MatrixMessage(1, 1, null!).ToMatrix());
    }
}
