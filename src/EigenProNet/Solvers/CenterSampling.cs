using EigenProNet.Data;
using EigenProNet.LinearAlgebra;

namespace EigenProNet.Solvers;

/// <summary>The centers of EigenPro 3 and 4: given by the user, or random training rows.</summary>
internal static class CenterSampling
{
    /// <summary>
    /// The centers, and — when they are s or more random training rows — the data Nyström sample taken from among
    /// them (as training-row indices, sorted, and the centers reordered so that these come first in that order). Both
    /// are then uniform random samples of the training rows, as in the reference, and K(X_b, S) is a column block of
    /// K(X_b, Z), which each batch computes anyway: the data correction costs no kernel evaluations of its own.
    /// </summary>
    public static (Matrix Centers, int[]? Shared) Centers(Matrix x, Matrix? given, int count, int s, int seed, IReadOnlyList<int>? pinnedSample)
    {
        const string options = "Options";
        if (given is not null)
        {
            if (given.Rows < 1) throw new ArgumentException("Expected at least one center, found none.", options);
            if (given.Columns != x.Columns)
                throw new ArgumentException($"The centers have {given.Columns} features, the training data {x.Columns}.", options);
            Guard.AllFinite(given, "centers");
            return (given, null);
        }
        int p = count;
        if (p < 1) throw new ArgumentException($"Expected at least one center, found {p}.", options);
        if (p > x.Rows) throw new ArgumentException($"Cannot sample {p} centers from {x.Rows} training rows.", options);
        var rows = Preprocessing.Permutation(x.Rows, new Random(seed ^ 0x2c3))[..p];
        int[]? shared = null;
        if (s <= p && pinnedSample is null)
        {
            // The first s of the random draw are themselves a random sample: they become the data Nyström sample.
            shared = rows[..s];
            Array.Sort(shared);
            Array.Sort(rows, s, p - s);
            shared.CopyTo(rows, 0);
        }
        else Array.Sort(rows);
        var centers = new Matrix(p, x.Columns);
        for (int i = 0; i < p; i++) x.Row(rows[i]).CopyTo(centers.Row(i));
        return (centers, shared);
    }
}
