using System.Runtime.Intrinsics;

namespace EigenProNet.LinearAlgebra;

/// <summary>The vector width a numeric routine runs with. Chosen at run time from the CPU's features.</summary>
public enum SimdPath
{
    /// <summary>One float at a time; correct everywhere.</summary>
    Scalar,
    /// <summary>128-bit vectors (SSE, ARM AdvSimd).</summary>
    Vector128,
    /// <summary>256-bit vectors (AVX2 + FMA).</summary>
    Vector256,
    /// <summary>512-bit vectors (AVX-512F).</summary>
    Vector512,
}

/// <summary>Detects the widest accelerated vector path of this CPU.</summary>
public static class SimdCapabilities
{
    /// <summary>The widest hardware-accelerated path (what every routine uses unless told otherwise).</summary>
    public static SimdPath Best { get; } = Detect();

    /// <summary>Every path this CPU can run, fastest last (the scalar path always runs).</summary>
    public static IReadOnlyList<SimdPath> Supported { get; } =
        Enum.GetValues<SimdPath>().Where(p => p <= Best).ToArray();

    private static SimdPath Detect()
    {
        if (Vector512.IsHardwareAccelerated) return SimdPath.Vector512;
        // Without FMA the 256-bit kernels would emulate fused multiply-add in software.
        if (Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported) return SimdPath.Vector256;
        if (Vector128.IsHardwareAccelerated) return SimdPath.Vector128;
        return SimdPath.Scalar;
    }
}
