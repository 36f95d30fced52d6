using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EigenProNet.LinearAlgebra;

/// <summary>
/// The few float-vector operations our hand-written loops need, as static abstract members, so that one generic
/// routine is instantiated for 512-, 256-, 128-bit and scalar "vectors" (the TensorPrimitives operator pattern).
/// Each implementation is a single-field struct, which the JIT keeps in one register.
/// </summary>
internal interface IFloatVector<TSelf> : ISimdVector<TSelf, float> where TSelf : struct, IFloatVector<TSelf>
{
    static abstract TSelf Add(TSelf a, TSelf b);
    static abstract TSelf Subtract(TSelf a, TSelf b);
    static abstract TSelf Divide(TSelf a, TSelf b);
    static abstract TSelf Min(TSelf a, TSelf b);
    static abstract TSelf Max(TSelf a, TSelf b);
    static abstract TSelf Abs(TSelf a);
    static abstract TSelf Sqrt(TSelf a);
    /// <summary>Per lane: x &lt; 0 ? ifNegative : ifNotNegative.</summary>
    static abstract TSelf SelectNegative(TSelf x, TSelf ifNegative, TSelf ifNotNegative);
}

/// <summary>
/// What a GEMM micro-kernel needs of a vector of <typeparamref name="T"/> (float or double): load, store, broadcast
/// and fused multiply-add. One micro-kernel source serves both precisions and every width.
/// </summary>
internal interface ISimdVector<TSelf, T> where TSelf : struct, ISimdVector<TSelf, T> where T : unmanaged
{
    static abstract int Count { get; }
    static abstract unsafe TSelf Load(T* p);
    static abstract unsafe void Store(TSelf v, T* p);
    static abstract TSelf Broadcast(T x);
    static abstract TSelf Zero { get; }
    static abstract TSelf Multiply(TSelf a, TSelf b);
    /// <summary>a·b + c with one rounding where the hardware has FMA.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);
}

internal readonly struct Vec512 : IFloatVector<Vec512>
{
    private readonly Vector512<float> _v;
    private Vec512(Vector512<float> v) => _v = v;
    public static int Count => Vector512<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec512 Load(float* p) => new(Vector512.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec512 v, float* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Broadcast(float x) => new(Vector512.Create(x));
    public static Vec512 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Add(Vec512 a, Vec512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Subtract(Vec512 a, Vec512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Multiply(Vec512 a, Vec512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Divide(Vec512 a, Vec512 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 MultiplyAdd(Vec512 a, Vec512 b, Vec512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Min(Vec512 a, Vec512 b) => new(Vector512.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Max(Vec512 a, Vec512 b) => new(Vector512.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Abs(Vec512 a) => new(Vector512.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Sqrt(Vec512 a) => new(Vector512.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 SelectNegative(Vec512 x, Vec512 n, Vec512 p) =>
        new(Vector512.ConditionalSelect(Vector512.LessThan(x._v, Vector512<float>.Zero), n._v, p._v));
}

internal readonly struct Vec256 : IFloatVector<Vec256>
{
    private readonly Vector256<float> _v;
    private Vec256(Vector256<float> v) => _v = v;
    public static int Count => Vector256<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec256 Load(float* p) => new(Vector256.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec256 v, float* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Broadcast(float x) => new(Vector256.Create(x));
    public static Vec256 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Add(Vec256 a, Vec256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Subtract(Vec256 a, Vec256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Multiply(Vec256 a, Vec256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Divide(Vec256 a, Vec256 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 MultiplyAdd(Vec256 a, Vec256 b, Vec256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Min(Vec256 a, Vec256 b) => new(Vector256.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Max(Vec256 a, Vec256 b) => new(Vector256.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Abs(Vec256 a) => new(Vector256.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Sqrt(Vec256 a) => new(Vector256.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 SelectNegative(Vec256 x, Vec256 n, Vec256 p) =>
        new(Vector256.ConditionalSelect(Vector256.LessThan(x._v, Vector256<float>.Zero), n._v, p._v));
}

internal readonly struct Vec128 : IFloatVector<Vec128>
{
    private readonly Vector128<float> _v;
    private Vec128(Vector128<float> v) => _v = v;
    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec128 Load(float* p) => new(Vector128.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec128 v, float* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Broadcast(float x) => new(Vector128.Create(x));
    public static Vec128 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Add(Vec128 a, Vec128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Subtract(Vec128 a, Vec128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Multiply(Vec128 a, Vec128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Divide(Vec128 a, Vec128 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 MultiplyAdd(Vec128 a, Vec128 b, Vec128 c) => new(Vector128.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Min(Vec128 a, Vec128 b) => new(Vector128.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Max(Vec128 a, Vec128 b) => new(Vector128.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Abs(Vec128 a) => new(Vector128.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Sqrt(Vec128 a) => new(Vector128.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 SelectNegative(Vec128 x, Vec128 n, Vec128 p) =>
        new(Vector128.ConditionalSelect(Vector128.LessThan(x._v, Vector128<float>.Zero), n._v, p._v));
}

/// <summary>The scalar "vector" of one lane: the portable fallback and the reference for the wide paths.</summary>
internal readonly struct Vec1 : IFloatVector<Vec1>
{
    private readonly float _v;
    private Vec1(float v) => _v = v;
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec1 Load(float* p) => new(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec1 v, float* p) => *p = v._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Broadcast(float x) => new(x);
    public static Vec1 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Add(Vec1 a, Vec1 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Subtract(Vec1 a, Vec1 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Multiply(Vec1 a, Vec1 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Divide(Vec1 a, Vec1 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 MultiplyAdd(Vec1 a, Vec1 b, Vec1 c) => new(MathF.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Min(Vec1 a, Vec1 b) => new(MathF.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Max(Vec1 a, Vec1 b) => new(MathF.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Abs(Vec1 a) => new(MathF.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 Sqrt(Vec1 a) => new(MathF.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1 SelectNegative(Vec1 x, Vec1 n, Vec1 p) => x._v < 0 ? n : p;
}

/// <summary>512-bit vector of doubles (AVX-512F).</summary>
internal readonly struct Vec512D : ISimdVector<Vec512D, double>
{
    private readonly Vector512<double> _v;
    private Vec512D(Vector512<double> v) => _v = v;
    public static int Count => Vector512<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec512D Load(double* p) => new(Vector512.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec512D v, double* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512D Broadcast(double x) => new(Vector512.Create(x));
    public static Vec512D Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512D Multiply(Vec512D a, Vec512D b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512D MultiplyAdd(Vec512D a, Vec512D b, Vec512D c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
}

/// <summary>256-bit vector of doubles (AVX2 + FMA).</summary>
internal readonly struct Vec256D : ISimdVector<Vec256D, double>
{
    private readonly Vector256<double> _v;
    private Vec256D(Vector256<double> v) => _v = v;
    public static int Count => Vector256<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec256D Load(double* p) => new(Vector256.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec256D v, double* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256D Broadcast(double x) => new(Vector256.Create(x));
    public static Vec256D Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256D Multiply(Vec256D a, Vec256D b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256D MultiplyAdd(Vec256D a, Vec256D b, Vec256D c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
}

/// <summary>128-bit vector of doubles (SSE2, ARM AdvSimd).</summary>
internal readonly struct Vec128D : ISimdVector<Vec128D, double>
{
    private readonly Vector128<double> _v;
    private Vec128D(Vector128<double> v) => _v = v;
    public static int Count => Vector128<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec128D Load(double* p) => new(Vector128.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec128D v, double* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128D Broadcast(double x) => new(Vector128.Create(x));
    public static Vec128D Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128D Multiply(Vec128D a, Vec128D b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128D MultiplyAdd(Vec128D a, Vec128D b, Vec128D c) => new(Vector128.FusedMultiplyAdd(a._v, b._v, c._v));
}

/// <summary>One double: the portable fallback.</summary>
internal readonly struct Vec1D : ISimdVector<Vec1D, double>
{
    private readonly double _v;
    private Vec1D(double v) => _v = v;
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec1D Load(double* p) => new(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec1D v, double* p) => *p = v._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1D Broadcast(double x) => new(x);
    public static Vec1D Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1D Multiply(Vec1D a, Vec1D b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec1D MultiplyAdd(Vec1D a, Vec1D b, Vec1D c) => new(Math.FusedMultiplyAdd(a._v, b._v, c._v));
}
