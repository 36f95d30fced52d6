using System.Buffers;
using System.Runtime.CompilerServices;

namespace EigenProNet.LinearAlgebra;

/// <summary>
/// The dense eigensolver's n² work arrays. A fresh one costs a page fault per 4 KiB on first touch (about 1.6 µs
/// each on these machines: 20–30 ms per decomposition at n = 2000), and callers decompose again and again (the
/// dynamics recorder every epoch), so arrays up to <see cref="MaxRetainedBytes"/> come from and go back to the
/// shared pool. Larger ones are plain allocations, left to the collector: kept in the pool they would outlive their
/// phase and break the memory budget's accounting (a finished phase's garbage is returned to the system; a pooled
/// array is not garbage). Rented arrays hold whatever their last user left — callers write before they read.
/// </summary>
internal static class WorkArrayPool
{
    /// <summary>Largest array kept for reuse (32 MiB: an n = 2048 float64 square). Up to three of each size are live.</summary>
    public const long MaxRetainedBytes = 32L << 20;

    public static T[] Rent<T>(int length) where T : unmanaged =>
        (long)length * Unsafe.SizeOf<T>() <= MaxRetainedBytes ? ArrayPool<T>.Shared.Rent(length) : GC.AllocateUninitializedArray<T>(length);

    public static void Return<T>(T[] array) where T : unmanaged
    {
        if ((long)array.Length * Unsafe.SizeOf<T>() <= MaxRetainedBytes) ArrayPool<T>.Shared.Return(array);
    }
}
