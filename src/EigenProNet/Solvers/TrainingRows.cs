using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Solvers;

/// <summary>
/// The training rows as EigenPro 3 and 4 use them: a batch prepared for the kernel, and small gathered subsets (the
/// centers, the Nyström sample, the evaluation rows). Either all rows prepared once in memory, or streamed from an
/// <see cref="IRowSource"/> a batch at a time (then each batch is prepared as it is read).
/// </summary>
internal abstract class TrainingRows
{
    public abstract int Count { get; }
    public abstract int Dimension { get; }

    /// <summary>The rows <paramref name="ids"/>, prepared, in <paramref name="buffer"/>.</summary>
    public abstract KernelRows Batch(ReadOnlySpan<int> ids, KernelRowsBuffer buffer, ComputeContext compute);

    /// <summary>A copy of the rows <paramref name="ids"/>.</summary>
    public abstract Matrix Gather(ReadOnlySpan<int> ids);

    /// <summary>All rows prepared, when they are in memory (the evaluation then needs no copy).</summary>
    public virtual KernelRows? All => null;

    public static TrainingRows InMemory(KernelRows points) => new Prepared(points);

    public static TrainingRows Streamed(IRowSource source, Kernel kernel) => new Streaming(source, kernel);

    private sealed class Prepared(KernelRows points) : TrainingRows
    {
        public override int Count => points.Count;
        public override int Dimension => points.Dimension;
        public override KernelRows? All => points;
        public override KernelRows Batch(ReadOnlySpan<int> ids, KernelRowsBuffer buffer, ComputeContext compute) => points.Gather(ids, buffer);

        public override Matrix Gather(ReadOnlySpan<int> ids)
        {
            var m = new Matrix(ids.Length, points.Dimension);
            for (int i = 0; i < ids.Length; i++) points.Points.Row(ids[i]).CopyTo(m.Row(i));
            return m;
        }
    }

    private sealed class Streaming(IRowSource source, Kernel kernel) : TrainingRows
    {
        public override int Count => (int)source.Count;
        public override int Dimension => source.Dimension;

        public override KernelRows Batch(ReadOnlySpan<int> ids, KernelRowsBuffer buffer, ComputeContext compute)
        {
            var points = buffer.Points.View.RowBlock(0, ids.Length);
            Read(ids, points);
            return kernel.Prepare(points, source.Name, compute);
        }

        public override Matrix Gather(ReadOnlySpan<int> ids)
        {
            var m = new Matrix(ids.Length, source.Dimension);
            Read(ids, m);
            return m;
        }

        private void Read(ReadOnlySpan<int> ids, MatrixView destination)
        {
            var rows = new long[ids.Length];
            for (int i = 0; i < ids.Length; i++) rows[i] = ids[i];
            source.Read(rows, destination);
        }
    }
}
