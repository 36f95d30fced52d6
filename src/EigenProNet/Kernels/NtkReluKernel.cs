using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// Neural Tangent Kernel of a fully-connected ReLU network of <see cref="Depth"/> layers (spec eigenpro.md §4.5):
/// with κ0(u) = 1 − arccos(u)/π and κ1(u) = u·κ0(u) + √(1 − u²)/π,
/// S ← ⟨x, z⟩, N ← S + b², then (depth − 1) times: u = S/(‖x‖‖z‖), S ← ‖x‖‖z‖·κ1(u), N ← N·κ0(u) + S + b².
/// Raw row norms are used (k(2x, z) = 2·k(x, z) for b = 0); with <see cref="UnitSphere"/> the inputs are assumed
/// to be unit vectors and no norms enter (the caller L2-normalises).
/// </summary>
public sealed class NtkReluKernel : Kernel
{
    /// <summary>The reference's ε: norms are floored at it and u is clipped to [−1 + ε, 1 − ε].</summary>
    public const double Epsilon = 1e-12;

    /// <summary>Creates the kernel.</summary>
    /// <exception cref="ArgumentException">depth &lt; 1 or a non-finite bias.</exception>
    public NtkReluKernel(int depth, double bias = 0.0, bool unitSphere = false)
    {
        if (depth < 1) throw new ArgumentException($"Expected depth >= 1, found {depth}.", nameof(depth));
        Guard.Finite(bias, nameof(bias));
        Depth = depth;
        Bias = bias;
        UnitSphere = unitSphere;
    }

    /// <summary>Number of layers (1 = the linear kernel ⟨x, z⟩ + b²).</summary>
    public int Depth { get; }

    /// <summary>Bias b; b² enters the NTK accumulator only.</summary>
    public double Bias { get; }

    /// <summary>Whether inputs are taken as unit vectors (the reference's <c>ntk_relu_unit_sphere</c>).</summary>
    public bool UnitSphere { get; }

    /// <inheritdoc/>
    public override string Name => UnitSphere ? "ntk-sphere" : "ntk";

    /// <inheritdoc/>
    public override double Diagonal(ReadOnlySpan<float> x)
    {
        double sq = 0;
        foreach (float v in x) sq += (double)v * v;
        double norm = Math.Max(Math.Sqrt(sq), Epsilon);
        double s = sq, b2 = Bias * Bias, n = s + b2;
        double prod = UnitSphere ? 1.0 : norm * norm;
        for (int l = 1; l < Depth; l++)
        {
            double u = Math.Clamp(s / prod, -1 + Epsilon, 1 - Epsilon);
            double k0 = 1 - Math.Acos(u) / Math.PI;
            double k1 = u * k0 + Math.Sqrt(1 - u * u) / Math.PI;
            s = prod * k1;
            n = n * k0 + s + b2;
        }
        return n;
    }

    /// <summary>Per-row statistic: max(‖x‖, ε).</summary>
    protected override void ComputeStatistics(MatrixView points, Span<float> statistics)
    {
        for (int i = 0; i < points.Rows; i++)
        {
            double s = 0;
            foreach (float v in points.Row(i)) s += (double)v * v;
            statistics[i] = (float)Math.Max(Math.Sqrt(s), Epsilon);
        }
    }

    protected override void ComputeBlock(KernelRows a, KernelRows b, MatrixView output, ComputeContext context, GemmEpilogue? then)
    {
        if (Depth == 1 && Bias == 0)
        {
            Gemm.Compute(Transpose.No, Transpose.Yes, 1f, a.Points, b.Points, 0f, output, context, then, b.IsTransformed ? null : b.PackedFeatures);
            return;
        }
        float b2 = (float)(Bias * Bias);
        var path = context.Path;
        // The arc-cosine recursion runs inside the GEMM on each finished block of C, while it is in cache.
        void Tail(int worker, int row0, int rows, int col0, int cols)
        {
            var zNorms = b.Statistics.Slice(col0, cols);
            for (int i = row0; i < row0 + rows; i++)
                ArcCosineRecursion.Apply(path, output.Row(i).Slice(col0, cols), zNorms, a.Statistics[i], b2, Depth, UnitSphere);
            then?.Invoke(worker, row0, rows, col0, cols);
        }
        Gemm.Compute(Transpose.No, Transpose.Yes, 1f, a.Points, b.Points, 0f, output, context, Tail, b.IsTransformed ? null : b.PackedFeatures);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"NtkRelu(depth={Depth}, bias={Bias:G6}{(UnitSphere ? ", unit sphere" : "")})");
}

/// <summary>The elementwise NTK recursion over one row of inner products, vectorised per SIMD path.</summary>
internal static unsafe class ArcCosineRecursion
{
    private const float InvPi = (float)(1.0 / Math.PI);
    private const float Pi = (float)Math.PI;

    /// <summary>Replaces inner products ⟨x, z_j⟩ in <paramref name="row"/> by k(x, z_j).</summary>
    public static void Apply(SimdPath path, Span<float> row, ReadOnlySpan<float> zNorms, float xNorm, float b2, int depth, bool unitSphere)
    {
        fixed (float* s = row)
        fixed (float* nz = zNorms)
        {
            switch (path)
            {
                case SimdPath.Vector512: Run<Simd512<float>, Vector512<float>>(s, nz, row.Length, xNorm, b2, depth, unitSphere); break;
                case SimdPath.Vector256: Run<Simd256<float>, Vector256<float>>(s, nz, row.Length, xNorm, b2, depth, unitSphere); break;
                case SimdPath.Vector128: Run<Simd128<float>, Vector128<float>>(s, nz, row.Length, xNorm, b2, depth, unitSphere); break;
                default: Run<SimdScalar<float>, float>(s, nz, row.Length, xNorm, b2, depth, unitSphere); break;
            }
        }
    }

    private static void Run<O, V>(float* s, float* nz, int n, float xNorm, float b2, int depth, bool unitSphere)
        where O : ISimdOps<V, float> where V : struct
    {
        int j = 0;
        for (; j + O.Count <= n; j += O.Count) Step<O, V>(s + j, nz + j, xNorm, b2, depth, unitSphere);
        for (; j < n; j++) Step<SimdScalar<float>, float>(s + j, nz + j, xNorm, b2, depth, unitSphere);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<O, V>(float* sp, float* nzp, float xNorm, float b2, int depth, bool unitSphere)
        where O : ISimdOps<V, float> where V : struct
    {
        V one = O.Broadcast(1f), bias2 = O.Broadcast(b2), invPi = O.Broadcast(InvPi);
        V s = O.Load(sp);
        V acc = O.Add(s, bias2);
        V prod = unitSphere ? one : O.Multiply(O.Broadcast(xNorm), O.Load(nzp));
        // ±(1 − 1e-12) rounds to ±1 in float32, so the reference's clip is a clamp to [−1, 1] here.
        V lo = O.Broadcast(-1f);
        for (int l = 1; l < depth; l++)
        {
            V u = unitSphere ? s : O.Divide(s, prod);
            u = O.Min(O.Max(u, lo), one);
            V k0 = O.Subtract(one, O.Multiply(Acos<O, V>(u), invPi));
            V root = O.Sqrt(O.Max(O.Subtract(one, O.Multiply(u, u)), default(V)));
            V k1 = O.MultiplyAdd(u, k0, O.Multiply(root, invPi));
            s = unitSphere ? k1 : O.Multiply(prod, k1);
            acc = O.Add(O.MultiplyAdd(acc, k0, s), bias2);
        }
        O.Store(acc, sp);
    }

    /// <summary>
    /// arccos on [−1, 1]: √(1 − |x|)·P₇(|x|) (Abramowitz &amp; Stegun 4.4.46, |error| ≤ 2·10⁻⁸), reflected for x &lt; 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static V Acos<O, V>(V x) where O : ISimdOps<V, float> where V : struct
    {
        V ax = O.Abs(x);
        V p = O.Broadcast(-0.0012624911f);
        p = O.MultiplyAdd(p, ax, O.Broadcast(0.0066700901f));
        p = O.MultiplyAdd(p, ax, O.Broadcast(-0.0170881256f));
        p = O.MultiplyAdd(p, ax, O.Broadcast(0.0308918810f));
        p = O.MultiplyAdd(p, ax, O.Broadcast(-0.0501743046f));
        p = O.MultiplyAdd(p, ax, O.Broadcast(0.0889789874f));
        p = O.MultiplyAdd(p, ax, O.Broadcast(-0.2145988016f));
        p = O.MultiplyAdd(p, ax, O.Broadcast(1.5707963050f));
        V r = O.Multiply(O.Sqrt(O.Max(O.Subtract(O.Broadcast(1f), ax), default(V))), p);
        return O.SelectNegative(x, O.Subtract(O.Broadcast(Pi), r), r);
    }

    /// <summary>Scalar arccos through the same approximation on the given path (for tests).</summary>
    internal static void AcosSpan(SimdPath path, ReadOnlySpan<float> x, Span<float> result)
    {
        fixed (float* px = x)
        fixed (float* pr = result)
        {
            int w = path switch { SimdPath.Vector512 => 16, SimdPath.Vector256 => 8, SimdPath.Vector128 => 4, _ => 1 };
            int j = 0;
            for (; j + w <= x.Length; j += w)
            {
                switch (path)
                {
                    case SimdPath.Vector512: Vector512.Store(Acos<Simd512<float>, Vector512<float>>(Vector512.Load(px + j)), pr + j); break;
                    case SimdPath.Vector256: Vector256.Store(Acos<Simd256<float>, Vector256<float>>(Vector256.Load(px + j)), pr + j); break;
                    case SimdPath.Vector128: Vector128.Store(Acos<Simd128<float>, Vector128<float>>(Vector128.Load(px + j)), pr + j); break;
                    default: pr[j] = Acos<SimdScalar<float>, float>(px[j]); break;
                }
            }
            for (; j < x.Length; j++) pr[j] = Acos<SimdScalar<float>, float>(px[j]);
        }
    }
}
