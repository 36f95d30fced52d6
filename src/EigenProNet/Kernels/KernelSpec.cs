using System.Globalization;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Kernels;

/// <summary>
/// A kernel by name and parameters — what the command line and model files store. <see cref="Create"/> builds
/// the kernel; <see cref="Of"/> describes an existing one. A Mahalanobis kernel also needs its matrix M.
/// </summary>
/// <param name="Name">laplace | gaussian | ntk | ntk-sphere | mahalanobis | mahalanobis-gaussian.</param>
/// <param name="Bandwidth">L for the distance kernels (ignored by NTK).</param>
/// <param name="Depth">NTK depth (ignored by the distance kernels).</param>
/// <param name="Bias">NTK bias (ignored by the distance kernels).</param>
public sealed record KernelSpec(string Name, double Bandwidth = 1.0, int Depth = 2, double Bias = 0.0)
{
    /// <summary>Kernel names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["laplace", "gaussian", "ntk", "ntk-sphere", "mahalanobis", "mahalanobis-gaussian"];

    /// <summary>Builds the kernel; <paramref name="m"/> is the Mahalanobis matrix (d × d, or 1 × d for a diagonal M).</summary>
    /// <exception cref="ArgumentException">Unknown name or invalid parameters.</exception>
    public Kernel Create(Matrix? m = null) => Name switch
    {
        "laplace" => new LaplaceKernel(Bandwidth),
        "gaussian" => new GaussianKernel(Bandwidth),
        "ntk" => new NtkReluKernel(Depth, Bias),
        "ntk-sphere" => new NtkReluKernel(Depth, Bias, unitSphere: true),
        "mahalanobis" or "mahalanobis-gaussian" when m is null => throw new ArgumentException("A Mahalanobis kernel needs its matrix M."),
        "mahalanobis" when m.Rows == 1 => new MahalanobisLaplaceKernel(Bandwidth, m.Row(0)),
        "mahalanobis" => new MahalanobisLaplaceKernel(Bandwidth, m),
        "mahalanobis-gaussian" when m.Rows == 1 => new MahalanobisGaussianKernel(Bandwidth, m.Row(0)),
        "mahalanobis-gaussian" => new MahalanobisGaussianKernel(Bandwidth, m),
        _ => throw new ArgumentException($"Unknown kernel '{Name}'; expected one of {string.Join(", ", Names)}."),
    };

    /// <summary>Describes <paramref name="kernel"/>; for a Mahalanobis kernel also returns M (1 × d when diagonal).</summary>
    public static (KernelSpec Spec, Matrix? M) Of(Kernel kernel) => kernel switch
    {
        LaplaceKernel k => (new KernelSpec("laplace", k.Bandwidth), null),
        GaussianKernel k => (new KernelSpec("gaussian", k.Bandwidth), null),
        NtkReluKernel k => (new KernelSpec(k.UnitSphere ? "ntk-sphere" : "ntk", Depth: k.Depth, Bias: k.Bias), null),
        MahalanobisKernel k => (new KernelSpec(k.Name, k.Bandwidth), k.IsDiagonal ? Matrix.FromRows(k.DiagonalOfM()) : k.MatrixM()),
        _ => throw new NotSupportedException($"Kernel {kernel} cannot be described by a KernelSpec."),
    };

    /// <inheritdoc/>
    public override string ToString() => Name.StartsWith("ntk", StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"{Name}(depth={Depth}, bias={Bias})")
        : string.Create(CultureInfo.InvariantCulture, $"{Name}(L={Bandwidth})");
}
