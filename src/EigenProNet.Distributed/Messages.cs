using System.Runtime.InteropServices;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Sharding;

namespace EigenProNet.Distributed;

// The wire forms of the shard protocol's values (EigenProNet.Sharding's records carry library types that the core
// library keeps free of Orleans attributes). Immutable: a call inside one silo passes them without a copy.

/// <summary>
/// A row-major float32 matrix on the wire, its values as bytes: Orleans copies a byte array as one block, while a
/// float array goes element by element (a 24 MiB batch took 0.6 s each way as floats).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record MatrixMessage([property: Id(0)] int Rows, [property: Id(1)] int Columns, [property: Id(2)] byte[] Bytes)
{
    public static MatrixMessage From(Matrix m) => new(m.Rows, m.Columns, MemoryMarshal.AsBytes(m.Data.AsSpan()).ToArray());

    /// <summary>
    /// The message in <paramref name="buffer"/>'s bytes when they have the size (else new ones): safe for a request whose
    /// reply is awaited before the next, since the request is serialised by then.
    /// </summary>
    public static MatrixMessage From(Matrix m, ref byte[]? buffer)
    {
        var bytes = MemoryMarshal.AsBytes(m.Data.AsSpan());
        if (buffer is null || buffer.Length != bytes.Length) buffer = new byte[bytes.Length];
        bytes.CopyTo(buffer);
        return new MatrixMessage(m.Rows, m.Columns, buffer);
    }

    public static MatrixMessage? FromOptional(Matrix? m) => m is null ? null : From(m);

    /// <exception cref="InvalidDataException">The shape does not match the data.</exception>
    public Matrix ToMatrix()
    {
        Matrix? fresh = null;
        return ToMatrix(ref fresh);
    }

    /// <summary>
    /// The matrix in <paramref name="buffer"/> when it has this shape (replaced by a new one when not): a shard keeps one
    /// per kind of request, since a fresh 50 MB array per batch costs its page faults every time.
    /// </summary>
    /// <exception cref="InvalidDataException">The shape does not match the data.</exception>
    public Matrix ToMatrix(ref Matrix? buffer)
    {
        if (Rows < 0 || Columns < 0 || Bytes is null || 4L * Rows * Columns != Bytes.LongLength)
            throw new InvalidDataException($"A matrix message of shape ({Rows}, {Columns}) carries {Bytes?.Length ?? 0} bytes.");
        if (buffer is null || buffer.Rows != Rows || buffer.Columns != Columns) buffer = new Matrix(Rows, Columns);
        Bytes.AsSpan().CopyTo(MemoryMarshal.AsBytes(buffer.Data.AsSpan()));
        return buffer;
    }
}

/// <summary><see cref="ShardDescription"/> on the wire.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardDescriptionMessage([property: Id(0)] string Version, [property: Id(1)] int Threads, [property: Id(2)] string SimdPath,
    [property: Id(3)] string Host)
{
    public ShardDescription ToDescription() => new(Version, Threads, SimdPath, Host);
}

/// <summary><see cref="ShardLoad"/> on the wire (the kernel by its spec).</summary>
[GenerateSerializer, Immutable]
public sealed record ShardLoadMessage([property: Id(0)] string Run, [property: Id(1)] int Index, [property: Id(2)] int Offset,
    [property: Id(3)] string Kernel, [property: Id(4)] double Bandwidth, [property: Id(5)] int Depth, [property: Id(6)] double Bias,
    [property: Id(7)] MatrixMessage? MahalanobisM, [property: Id(8)] MatrixMessage Centers, [property: Id(9)] MatrixMessage LiftAtCenters,
    [property: Id(10)] int Outputs, [property: Id(11)] int MaxBatch, [property: Id(12)] int MaxProjectionBatch, [property: Id(13)] int TemporaryCapacity)
{
    public static ShardLoadMessage From(ShardLoad l) => new(l.Run, l.Index, l.Offset, l.Kernel.Name, l.Kernel.Bandwidth, l.Kernel.Depth, l.Kernel.Bias,
        MatrixMessage.FromOptional(l.MahalanobisM), MatrixMessage.From(l.Centers), MatrixMessage.From(l.LiftAtCenters), l.Outputs, l.MaxBatch,
        l.MaxProjectionBatch, l.TemporaryCapacity);

    public ShardLoad ToLoad() => new(Run, Index, Offset, new KernelSpec(Kernel, Bandwidth, Depth, Bias), MahalanobisM?.ToMatrix(),
        Centers.ToMatrix(), LiftAtCenters.ToMatrix(), Outputs, MaxBatch, MaxProjectionBatch, TemporaryCapacity);
}

/// <summary><see cref="BackwardStep"/> on the wire.</summary>
[GenerateSerializer, Immutable]
public sealed record BackwardStepMessage([property: Id(0)] MatrixMessage Residual, [property: Id(1)] MatrixMessage Projected,
    [property: Id(2)] float? AccumulateStep, [property: Id(3)] int JoinFrom, [property: Id(4)] int JoinCount)
{
    public static BackwardStepMessage From(BackwardStep b) =>
        new(MatrixMessage.From(b.Residual), MatrixMessage.From(b.Projected), b.AccumulateStep, b.JoinFrom, b.JoinCount);

    public BackwardStep ToStep() => new(Residual.ToMatrix(), Projected.ToMatrix(), AccumulateStep, JoinFrom, JoinCount);
}

/// <summary><see cref="ProjectionRequest"/> on the wire.</summary>
[GenerateSerializer, Immutable]
public sealed record ProjectionRequestMessage([property: Id(0)] int[]? UpdateIds, [property: Id(1)] MatrixMessage? Residual,
    [property: Id(2)] int[]? SubsampleIds, [property: Id(3)] MatrixMessage? Correction, [property: Id(4)] float Step,
    [property: Id(5)] int[]? NextIds, [property: Id(6)] MatrixMessage? NextPoints, [property: Id(7)] float? ApplyStep, [property: Id(8)] bool Begin)
{
    public static ProjectionRequestMessage From(ProjectionRequest r) => new(r.UpdateIds, MatrixMessage.FromOptional(r.Residual), r.SubsampleIds,
        MatrixMessage.FromOptional(r.Correction), r.Step, r.NextIds, MatrixMessage.FromOptional(r.NextPoints), r.ApplyStep, r.Begin);

    public ProjectionRequest ToRequest() =>
        new(UpdateIds, Residual?.ToMatrix(), SubsampleIds, Correction?.ToMatrix(), Step, NextIds, NextPoints?.ToMatrix(), ApplyStep, Begin);
}

/// <summary><see cref="ProjectionReply"/> on the wire.</summary>
[GenerateSerializer, Immutable]
public sealed record ProjectionReplyMessage([property: Id(0)] MatrixMessage? Partial, [property: Id(1)] MatrixMessage? TargetRows)
{
    public static ProjectionReplyMessage From(ProjectionReply r) => new(MatrixMessage.FromOptional(r.Partial), MatrixMessage.FromOptional(r.TargetRows));

    public ProjectionReply ToReply() => new(Partial?.ToMatrix(), TargetRows?.ToMatrix());
}
