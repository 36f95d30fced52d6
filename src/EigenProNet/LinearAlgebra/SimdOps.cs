using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EigenProNet.LinearAlgebra;

/// <summary>
/// The vector operations our hand-written loops need, as static abstract members of an operations type over the
/// raw hardware vector <typeparamref name="TVec"/> (the TensorPrimitives operator pattern). One generic routine is
/// instantiated for 512-, 256-, 128-bit and scalar "vectors" of float or double.
/// </summary>
/// <remarks>
/// The operations take and return the hardware vector itself rather than a struct wrapping it: with a wrapper the
/// JIT loses track of which local an FMA accumulates into and emits a register copy after half of the micro-kernel's
/// FMAs (measured: 12 extra <c>vmovaps</c> per 24 FMAs on the 512-bit path), which costs a fifth of the GEMM's speed.
/// </remarks>
internal interface ISimdOps<TVec, T> where TVec : struct where T : unmanaged
{
    static abstract int Count { get; }
    static abstract unsafe TVec Load(T* p);
    static abstract unsafe void Store(TVec v, T* p);
    /// <summary>The vector at p with its lanes below <paramref name="first"/> zero, bitwise: whatever memory they
    /// cover (NaN, or a triangle never written) never reaches the result.</summary>
    static abstract unsafe TVec LoadFrom(T* p, int first);
    /// <summary>The sum of the lanes.</summary>
    static abstract T Sum(TVec v);
    static abstract TVec Broadcast(T x);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);
    /// <summary>a·b + c with one rounding where the hardware has FMA.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);
    static abstract TVec Min(TVec a, TVec b);
    static abstract TVec Max(TVec a, TVec b);
    static abstract TVec Abs(TVec a);
    static abstract TVec Sqrt(TVec a);
    /// <summary>Per lane: x &lt; 0 ? ifNegative : ifNotNegative.</summary>
    static abstract TVec SelectNegative(TVec x, TVec ifNegative, TVec ifNotNegative);
    /// <summary>Rounds to the nearest integer (ties to even).</summary>
    static abstract TVec Round(TVec x);
    /// <summary>x·2ⁿ for integral n with 2ⁿ a normal number (float lanes only).</summary>
    static abstract TVec ScaleByPowerOfTwo(TVec x, TVec n);
}

/// <summary>Elementwise functions written once over <see cref="ISimdOps{TVec, T}"/>.</summary>
internal static class SimdMath
{
    /// <summary>
    /// eˣ in float32 lanes, to about 2 ulp: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 split in two for an exact
    /// reduction), eʳ by a degree-7 polynomial (the Cephes coefficients), times 2ⁿ. Inputs are clamped to
    /// [−87.3, 88.7], so results stay normal numbers: eˣ below 1.2e−38 comes back as about 1.2e−38, not 0.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static V Exp<O, V>(V x) where O : ISimdOps<V, float> where V : struct
    {
        x = O.Min(O.Max(x, O.Broadcast(-87.33654f)), O.Broadcast(88.72283f));
        V n = O.Round(O.Multiply(x, O.Broadcast(1.44269504088896341f)));
        V r = O.MultiplyAdd(n, O.Broadcast(-0.693359375f), x);
        r = O.MultiplyAdd(n, O.Broadcast(2.12194440e-4f), r);
        V p = O.Broadcast(1.9875691500e-4f);
        p = O.MultiplyAdd(p, r, O.Broadcast(1.3981999507e-3f));
        p = O.MultiplyAdd(p, r, O.Broadcast(8.3334519073e-3f));
        p = O.MultiplyAdd(p, r, O.Broadcast(4.1665795894e-2f));
        p = O.MultiplyAdd(p, r, O.Broadcast(1.6666665459e-1f));
        p = O.MultiplyAdd(p, r, O.Broadcast(5.0000001201e-1f));
        p = O.MultiplyAdd(p, O.Multiply(r, r), O.Add(r, O.Broadcast(1f)));
        return O.ScaleByPowerOfTwo(p, n);
    }
}

/// <summary>512-bit vectors (AVX-512F) of float or double.</summary>
internal readonly struct Simd512<T> : ISimdOps<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector512<T> Load(T* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector512<T> LoadFrom(T* p, int first) =>
        Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(first))), Vector512.Load(p), Vector512<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vector512<T> v, T* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Broadcast(T x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Subtract(Vector512<T> a, Vector512<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Divide(Vector512<T> a, Vector512<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> MultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c) =>
        typeof(T) == typeof(float)
            ? Vector512.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>()
            : Vector512.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Min(Vector512<T> a, Vector512<T> b) => Vector512.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Sqrt(Vector512<T> a) => Vector512.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> SelectNegative(Vector512<T> x, Vector512<T> n, Vector512<T> p) =>
        Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), n, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Round(Vector512<T> x) =>
        typeof(T) == typeof(float) ? Vector512.Round(x.As<T, float>()).As<float, T>() : Vector512.Round(x.As<T, double>()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> ScaleByPowerOfTwo(Vector512<T> x, Vector512<T> n)
    {
        if (typeof(T) != typeof(float)) throw new NotSupportedException("ScaleByPowerOfTwo is implemented for float lanes.");
        var bits = Vector512.ShiftLeft(Vector512.ConvertToInt32(n.As<T, float>()) + Vector512.Create(127), 23);
        return x * bits.As<int, T>();
    }
}

/// <summary>256-bit vectors (AVX2 + FMA) of float or double.</summary>
internal readonly struct Simd256<T> : ISimdOps<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector256<T> Load(T* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector256<T> LoadFrom(T* p, int first) =>
        Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(first))), Vector256.Load(p), Vector256<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vector256<T> v, T* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Broadcast(T x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Subtract(Vector256<T> a, Vector256<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Multiply(Vector256<T> a, Vector256<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Divide(Vector256<T> a, Vector256<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> MultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c) =>
        typeof(T) == typeof(float)
            ? Vector256.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>()
            : Vector256.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Min(Vector256<T> a, Vector256<T> b) => Vector256.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Sqrt(Vector256<T> a) => Vector256.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> SelectNegative(Vector256<T> x, Vector256<T> n, Vector256<T> p) =>
        Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), n, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Round(Vector256<T> x) =>
        typeof(T) == typeof(float) ? Vector256.Round(x.As<T, float>()).As<float, T>() : Vector256.Round(x.As<T, double>()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> ScaleByPowerOfTwo(Vector256<T> x, Vector256<T> n)
    {
        if (typeof(T) != typeof(float)) throw new NotSupportedException("ScaleByPowerOfTwo is implemented for float lanes.");
        var bits = Vector256.ShiftLeft(Vector256.ConvertToInt32(n.As<T, float>()) + Vector256.Create(127), 23);
        return x * bits.As<int, T>();
    }
}

/// <summary>128-bit vectors (SSE, ARM AdvSimd) of float or double.</summary>
internal readonly struct Simd128<T> : ISimdOps<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector128<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector128<T> Load(T* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector128<T> LoadFrom(T* p, int first) =>
        Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(first))), Vector128.Load(p), Vector128<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> v) => Vector128.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vector128<T> v, T* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Broadcast(T x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Subtract(Vector128<T> a, Vector128<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Multiply(Vector128<T> a, Vector128<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Divide(Vector128<T> a, Vector128<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> MultiplyAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c) =>
        typeof(T) == typeof(float)
            ? Vector128.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>()
            : Vector128.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Min(Vector128<T> a, Vector128<T> b) => Vector128.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Sqrt(Vector128<T> a) => Vector128.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> SelectNegative(Vector128<T> x, Vector128<T> n, Vector128<T> p) =>
        Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<T>.Zero), n, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Round(Vector128<T> x) =>
        typeof(T) == typeof(float) ? Vector128.Round(x.As<T, float>()).As<float, T>() : Vector128.Round(x.As<T, double>()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> ScaleByPowerOfTwo(Vector128<T> x, Vector128<T> n)
    {
        if (typeof(T) != typeof(float)) throw new NotSupportedException("ScaleByPowerOfTwo is implemented for float lanes.");
        var bits = Vector128.ShiftLeft(Vector128.ConvertToInt32(n.As<T, float>()) + Vector128.Create(127), 23);
        return x * bits.As<int, T>();
    }
}

/// <summary>The "vector" of one lane: the portable fallback and the reference for the wide paths.</summary>
internal readonly struct SimdScalar<T> : ISimdOps<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe T Load(T* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe T LoadFrom(T* p, int first) => first > 0 ? T.Zero : *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(T v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(T v, T* p) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Broadcast(T x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Add(T a, T b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Subtract(T a, T b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Multiply(T a, T b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Divide(T a, T b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T MultiplyAdd(T a, T b, T c) => T.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Min(T a, T b) => T.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Max(T a, T b) => T.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Abs(T a) => T.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sqrt(T a) => T.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T SelectNegative(T x, T n, T p) => x < T.Zero ? n : p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Round(T x) => T.Round(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T ScaleByPowerOfTwo(T x, T n) => T.ScaleB(x, int.CreateTruncating(n));
}
