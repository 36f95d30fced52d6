using EigenProNet.LinearAlgebra;

namespace EigenProNet.Dynamics;

/// <summary>
/// How much a set of eigenvectors moved between two times (spec dynamics.md §3): the study's sum-of-entries metric
/// after a documented sign convention, and the sign- and rotation-invariant measures — per-vector overlap, principal
/// angles and the projection distance between the spanned subspaces, and the relative change of the eigenvalues.
/// Eigenvectors are the columns of s × k matrices with unit columns (orthonormal for the subspace measures).
/// </summary>
public static class EigenvectorChange
{
    /// <summary>
    /// The stored sign convention: each column flipped so that its entry of largest magnitude is positive (the first
    /// such entry on ties). Returns a new matrix.
    /// </summary>
    public static Matrix WithSignConvention(MatrixView vectors)
    {
        var result = vectors.ToMatrix();
        for (int j = 0; j < result.Columns; j++)
        {
            int best = 0;
            for (int i = 1; i < result.Rows; i++)
                if (Math.Abs(result[i, j]) > Math.Abs(result[best, j])) best = i;
            if (result.Rows > 0 && result[best, j] < 0)
                for (int i = 0; i < result.Rows; i++) result[i, j] = -result[i, j];
        }
        return result;
    }

    /// <summary>Each column of <paramref name="vectors"/> flipped to sign(⟨v, reference⟩) (kept when orthogonal). Returns a new matrix.</summary>
    /// <exception cref="ArgumentException">The shapes differ in rows, or there are fewer reference columns.</exception>
    public static Matrix AlignedTo(MatrixView vectors, MatrixView reference)
    {
        CheckPair(reference, vectors, vectors.Columns);
        var result = vectors.ToMatrix();
        for (int j = 0; j < result.Columns; j++)
            if (Dot(reference, j, vectors, j) < 0)
                for (int i = 0; i < result.Rows; i++) result[i, j] = -result[i, j];
        return result;
    }

    /// <summary>
    /// The study's metric per eigenvector: Σᵢ e_t[i] − Σᵢ e_0[i], after <see cref="WithSignConvention"/> and alignment to
    /// e_0 — sign-fixed by that convention, but not invariant to rotations inside a cluster of equal eigenvalues.
    /// </summary>
    public static double[] SumChange(MatrixView reference, MatrixView current)
    {
        int k = Math.Min(reference.Columns, current.Columns);
        var e0 = WithSignConvention(reference.Block(0, 0, reference.Rows, k));
        var et = AlignedTo(current.Block(0, 0, current.Rows, k), e0);
        var change = new double[k];
        for (int j = 0; j < k; j++)
        {
            double s = 0;
            for (int i = 0; i < et.Rows; i++) s += (double)et[i, j] - e0[i, j];
            change[j] = s;
        }
        return change;
    }

    /// <summary>
    /// Σ_{i≤k}‖e_iᵀY‖² / ‖Y‖²_F for k = 1 … columns: the share of the targets' energy the top-k eigenvectors capture
    /// (invariant to the columns' signs and, for each k, to rotations within the first k columns). NaN for Y = 0.
    /// </summary>
    public static double[] TargetCaptured(MatrixView vectors, MatrixView targets, ComputeContext? context = null)
    {
        if (vectors.Rows != targets.Rows) throw new ArgumentException($"Eigenvectors have {vectors.Rows} rows, targets {targets.Rows}.", nameof(targets));
        var projected = Gemm.Multiply(vectors, targets, Transpose.Yes, Transpose.No, context);
        double total = 0;
        for (int i = 0; i < targets.Rows; i++) foreach (float v in targets.Row(i)) total += (double)v * v;
        var captured = new double[vectors.Columns];
        double cumulative = 0;
        for (int j = 0; j < captured.Length; j++)
        {
            foreach (float v in projected.Row(j)) cumulative += (double)v * v;
            captured[j] = total > 0 ? cumulative / total : double.NaN;
        }
        return captured;
    }

    /// <summary>1 − |⟨e_0^j, e_t^j⟩| per column j, in [0, 1] for unit columns: sign-invariant.</summary>
    public static double[] Overlap(MatrixView reference, MatrixView current)
    {
        int k = Math.Min(reference.Columns, current.Columns);
        CheckPair(reference, current, k);
        var result = new double[k];
        for (int j = 0; j < k; j++) result[j] = Math.Max(0, 1 - Math.Abs(Dot(reference, j, current, j)));
        return result;
    }

    /// <summary>
    /// The principal angles (radians, ascending) between span(E_0[:, :k]) and span(E_t[:, :k]). Computed from both
    /// cos θ (singular values of E_0ᵀE_t) and sin θ (of E_t − E_0·E_0ᵀE_t) so that small angles keep their digits.
    /// </summary>
    /// <exception cref="ArgumentException">k outside [1, columns], or the row counts differ.</exception>
    public static double[] PrincipalAngles(MatrixView reference, MatrixView current, int k, ComputeContext? context = null)
    {
        CheckPair(reference, current, k);
        if (k < 1) throw new ArgumentException($"Expected k ≥ 1, found {k}.", nameof(k));
        var e0 = reference.Block(0, 0, reference.Rows, k);
        var et = current.Block(0, 0, current.Rows, k);
        var c = Gemm.Multiply(e0, et, Transpose.Yes, Transpose.No, context);         // cos θ: singular values of C
        var d = et.ToMatrix();
        Gemm.Compute(Transpose.No, Transpose.No, -1f, e0, c, 1f, d, context);        // sin θ: singular values of Eₜ − E₀·C
        var cos2 = Gram(c, context);
        var sin2 = Gram(d, context);
        // CᵀC + DᵀD = I: one set of eigenvectors; cos² descending pairs with sin² ascending.
        var angles = new double[k];
        for (int i = 0; i < k; i++)
        {
            double cs = Math.Sqrt(Math.Clamp(cos2[i], 0, 1)), sn = Math.Sqrt(Math.Clamp(sin2[k - 1 - i], 0, 1));
            angles[i] = Math.Atan2(sn, cs);
        }
        Array.Sort(angles);
        return angles;
    }

    /// <summary>‖E_0E_0ᵀ − E_tE_tᵀ‖_F = √(2·Σ sin²θᵢ) over the first k columns: 0 exactly when the subspaces agree.</summary>
    public static double ProjectionDistance(MatrixView reference, MatrixView current, int k, ComputeContext? context = null)
    {
        double sum = 0;
        foreach (double angle in PrincipalAngles(reference, current, k, context)) sum += Math.Sin(angle) * Math.Sin(angle);
        return Math.Sqrt(2 * sum);
    }

    /// <summary>|λ_t − λ_0| / λ_0 per eigenvalue (over the common leading ones; 0/0 counts as 0).</summary>
    public static double[] EigenvalueChange(IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        int k = Math.Min(reference.Count, current.Count);
        var result = new double[k];
        for (int i = 0; i < k; i++)
            result[i] = reference[i] == 0 ? (current[i] == 0 ? 0 : double.PositiveInfinity) : Math.Abs(current[i] - reference[i]) / Math.Abs(reference[i]);
        return result;
    }

    /// <summary>
    /// "Change has ceased at t*": the first t such that every consecutive change d(t' − 1 → t') with t' &gt; t is below
    /// <paramref name="tolerance"/> (<paramref name="consecutive"/>[i] is the change from t = i to t = i + 1). Null when
    /// the last change is still above it.
    /// </summary>
    public static int? CeasedAt(IReadOnlyList<double> consecutive, double tolerance = 1e-2)
    {
        int t = consecutive.Count;
        while (t > 0 && consecutive[t - 1] < tolerance) t--;
        return t == consecutive.Count && t > 0 ? null : t;
    }

    private static double[] Gram(Matrix a, ComputeContext? context)
    {
        var g = new Matrix(a.Columns, a.Columns);
        Gemm.SymmetricRankK(Transpose.Yes, 1f, a, 0f, g, context);
        // Float64 reduction: the squared cosines of small angles sit next to 1, where float32 rounding would swamp them.
        return SymmetricEigen.Full(g, context, ReductionPrecision.Double).Values;   // descending
    }

    private static double Dot(MatrixView a, int ja, MatrixView b, int jb)
    {
        double s = 0;
        for (int i = 0; i < a.Rows; i++) s += (double)a[i, ja] * b[i, jb];
        return s;
    }

    private static void CheckPair(MatrixView reference, MatrixView current, int k)
    {
        if (reference.Rows != current.Rows)
            throw new ArgumentException($"The eigenvectors have {reference.Rows} and {current.Rows} entries: snapshots on different subsamples cannot be compared.", nameof(current));
        if (k > reference.Columns || k > current.Columns)
            throw new ArgumentException($"k = {k} exceeds the {Math.Min(reference.Columns, current.Columns)} eigenvectors the snapshots share.", nameof(k));
    }
}
