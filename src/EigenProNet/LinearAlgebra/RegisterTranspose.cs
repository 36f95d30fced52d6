using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EigenProNet.LinearAlgebra;

/// <summary>
/// Float transposes in AVX registers (callers check <see cref="Avx.IsSupported"/>): the GEMM's packing of row-major
/// panels into the micro-kernel's layout and the symmetry check compare an 8×8 block with its mirror this way
/// instead of one strided scalar load per element.
/// </summary>
internal static unsafe class RegisterTranspose
{
    /// <summary>
    /// Four rows of 8 values (a stride apart), transposed per 128-bit lane: vector q holds, in lane 0, column q of the
    /// four rows and, in lane 1, column q + 4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Transpose4(float* s, long stride)
    {
        var r0 = Avx.LoadVector256(s);
        var r1 = Avx.LoadVector256(s + stride);
        var r2 = Avx.LoadVector256(s + 2 * stride);
        var r3 = Avx.LoadVector256(s + 3 * stride);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        return (Avx.Shuffle(t0, t2, 0x44), Avx.Shuffle(t0, t2, 0xEE), Avx.Shuffle(t1, t3, 0x44), Avx.Shuffle(t1, t3, 0xEE));
    }

    /// <summary>An 8×8 block (8 rows of 8 values, a stride apart) transposed: vector k holds column k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>,
        Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Transpose8(float* s, long stride)
    {
        var (u0, u1, u2, u3) = Transpose4(s, stride);
        var (u4, u5, u6, u7) = Transpose4(s + 4 * stride, stride);
        return (Avx.Permute2x128(u0, u4, 0x20), Avx.Permute2x128(u1, u5, 0x20), Avx.Permute2x128(u2, u6, 0x20), Avx.Permute2x128(u3, u7, 0x20),
            Avx.Permute2x128(u0, u4, 0x31), Avx.Permute2x128(u1, u5, 0x31), Avx.Permute2x128(u2, u6, 0x31), Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// The largest |X[i, j] − X[j, i]| over the 8×8 block at <paramref name="upper"/> (rows a stride apart) against the
    /// transpose of the block at <paramref name="lower"/>: 0 when the two blocks mirror each other exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxMirrorDifference(float* upper, float* lower, long stride)
    {
        var (t0, t1, t2, t3, t4, t5, t6, t7) = Transpose8(lower, stride);
        var mask = Vector256.Create(0x7FFFFFFF).AsSingle();
        var m = Avx.And(Avx.Subtract(Avx.LoadVector256(upper), t0), mask);
        m = Avx.Max(m, Avx.And(Avx.Subtract(Avx.LoadVector256(upper + stride), t1), mask));
        m = Avx.Max(m, Avx.And(Avx.Subtract(Avx.LoadVector256(upper + 2 * stride), t2), mask));
        m = Avx.Max(m, Avx.And(Avx.Subtract(Avx.LoadVector256(upper + 3 * stride), t3), mask));
        m = Avx.Max(m, Avx.And(Avx.Subtract(Avx.LoadVector256(upper + 4 * stride), t4), mask));
        m = Avx.Max(m, Avx.And(Avx.Subtract(Avx.LoadVector256(upper + 5 * stride), t5), mask));
        m = Avx.Max(m, Avx.And(Avx.Subtract(Avx.LoadVector256(upper + 6 * stride), t6), mask));
        m = Avx.Max(m, Avx.And(Avx.Subtract(Avx.LoadVector256(upper + 7 * stride), t7), mask));
        return Vector256.Max(m, Avx.Permute2x128(m, m, 1)) is var h ? MathF.Max(MathF.Max(h[0], h[1]), MathF.Max(h[2], h[3])) : 0;
    }
}
