using System.Globalization;
using System.Net;
using System.Text;
using EigenProNet.Data;
using EigenProNet.Dynamics;
using ScottPlot;

namespace EigenProNet.Reporting;

/// <summary>
/// The dynamics report (spec dynamics.md §5): per run the study's plots and the added ones as PNG and SVG in
/// <c>plots/</c>, and one self-contained <c>report.html</c> with every plot embedded, a sentence on what each shows,
/// and the measured finding; several runs side by side when given several.
/// </summary>
public static class DynamicsReport
{
    private const int Width = 900, Height = 480;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The plots of one run: file stem, title, the sentence that explains it.</summary>
    private sealed record Figure(string Stem, string Caption, byte[] Png);

    /// <summary>One plot of the comparison with every run on it.</summary>
    private sealed record CommonAxes(Plot Plot, string Stem, string Title, string Y, string Caption);

    /// <summary>Reads <paramref name="runDirectories"/>, writes their plots, and writes the report to <paramref name="output"/> (atomically).</summary>
    /// <exception cref="DataFormatException">A directory is not a run, or one of its files is missing or corrupt.</exception>
    public static IReadOnlyList<DynamicsRun> Write(IReadOnlyList<string> runDirectories, string output)
    {
        ArgumentNullException.ThrowIfNull(runDirectories);
        if (runDirectories.Count == 0) throw new ArgumentException("Give at least one run directory.", nameof(runDirectories));
        var runs = runDirectories.Select(DynamicsRun.Read).ToArray();
        var sections = new StringBuilder();
        foreach (var run in runs) sections.Append(Section(run, Figures(run)));
        string comparison = runs.Length > 1 ? Comparison(runs) : "";
        AtomicFile.WriteText(output, Page(runs, comparison + sections));
        return runs;
    }

    private static IReadOnlyList<Figure> Figures(DynamicsRun run)
    {
        string dir = Path.Combine(run.Directory, "plots");
        Directory.CreateDirectory(dir);
        var figures = new List<Figure>();
        var m = run.Metrics;
        // Time in epochs: a network's snapshots fall between epochs too (t counts its SGD steps).
        double[] times = m.Epochs;
        string kind = run.Settings.TryGetProperty("study", out var study) ? study.GetString() ?? "" : "";
        string unit = kind == "rfm" ? "RFM iteration t" : "epoch";
        int k = run.Snapshots[0].Eigenvectors.Columns, shown = Math.Min(10, k);

        // (1) The study's Figure 1: the entries of the top eigenvectors, one box per t.
        var boxes = new Plot();
        var boxList = new List<Box>();
        for (int i = 0; i < run.Snapshots.Count; i++)
        {
            var v = run.Snapshots[i].Eigenvectors;
            var entries = new List<double>(v.Rows * shown);
            for (int r = 0; r < v.Rows; r++) for (int j = 0; j < shown; j++) entries.Add(v[r, j]);
            entries.Sort();
            double Q(double q) => entries[(int)Math.Round(q * (entries.Count - 1))];
            boxList.Add(new Box { Position = times[i], BoxMin = Q(0.25), BoxMax = Q(0.75), BoxMiddle = Q(0.5), WhiskerMin = Q(0.02), WhiskerMax = Q(0.98), Width = 0.6 });
        }
        boxes.Add.Boxes(boxList);
        Label(boxes, $"Entries of the top {shown} eigenvectors (sign convention applied)", unit, "entry (box: quartiles; whiskers: 2nd–98th percentile)");
        figures.Add(Save(dir, "eigenvector_entries", boxes,
            $"The study's boxplots: the distribution of the entries of the top {shown} training-data eigenvectors at every {unit}."));

        // (2) The study's Figure 2: change from the original, Σ e_t − Σ e_0 per eigenvector.
        var change = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int j = 0; j < shown; j++)
        {
            var line = change.Add.ScatterLine(times, m.SumChange.Select(s => s[j]).ToArray(), palette.GetColor(j));
            line.LegendText = $"e{j + 1}";
        }
        change.ShowLegend(Alignment.UpperRight);
        Label(change, "Change from the original: Σ e_t − Σ e_0 (the study's metric)", unit, "sum of entries minus its value at the start");
        figures.Add(Save(dir, "change_from_original", change,
            "The study's change metric per eigenvector, after the sign convention; it is not invariant to rotations within clusters of equal eigenvalues."));

        // (3) Subspace distance from the start for several k.
        var subspace = new Plot();
        int c = 0;
        foreach (var s in m.Subspaces)
        {
            var line = subspace.Add.ScatterLine(times, s.FromStart, palette.GetColor(c++));
            line.LegendText = $"top {s.K}";
        }
        subspace.ShowLegend(Alignment.UpperLeft);
        Label(subspace, "Subspace distance from the start ‖E₀E₀^T − E_tE_t^T‖_F", unit, "projection distance (max √(2k))");
        figures.Add(Save(dir, "subspace_distance", subspace,
            "Sign- and rotation-invariant: how far the span of the top-k eigenvectors moved since the start, for several k."));

        // (4) Eigenvalue spectra per t, log scale.
        var spectrum = new Plot();
        for (int i = 0; i < run.Snapshots.Count; i++)
        {
            var values = run.Snapshots[i].Eigenvalues;
            var x = Enumerable.Range(1, values.Length).Select(v => Math.Log10(v)).ToArray();
            var y = values.Select(v => Math.Log10(Math.Max(v, 1e-30))).ToArray();
            var line = spectrum.Add.ScatterLine(x, y, palette.GetColor(i % 10));
            line.LegendText = $"t = {m.Times[i]}";
            line.MarkerSize = 0;
        }
        if (run.Snapshots.Count <= 10) spectrum.ShowLegend(Alignment.UpperRight);
        Label(spectrum, "Eigenvalues of K_t(X_s, X_s)/s", "log₁₀ index", "log₁₀ eigenvalue", timeAxis: false);
        figures.Add(Save(dir, "spectrum", spectrum, "The data spectrum at every t on log–log axes (one line per t; they coincide when the kernel is fixed)."));

        // (5) Learned fraction per direction × t.
        int directions = Math.Min(100, k);
        var heat = new double[directions, times.Length];
        for (int i = 0; i < times.Length; i++)
            for (int j = 0; j < directions; j++) heat[directions - 1 - j, i] = double.IsFinite(m.LearnedFraction[i][j]) ? Math.Clamp(m.LearnedFraction[i][j], -1, 1) : 0;
        var learned = new Plot();
        var map = learned.Add.Heatmap(heat);
        // Cell centers: t along x, direction 1 … n along y.
        map.Extent = new CoordinateRect(times[0], times[^1], 1, directions);
        learned.Add.ColorBar(map);
        Label(learned, "Learned fraction ρ_i(t) = 1 − ‖E_i^T(Y − f_t)‖ / ‖E_i^T Y‖", unit, $"eigen-direction i (1 = top, of {directions})");
        figures.Add(Save(dir, "learned_fraction", learned,
            "How much of the targets' component along each eigen-direction the model has learned (1: all; clipped to [−1, 1]): what moves when the kernel does not."));

        // (6) The kernel matrix's own motion: distance from the start and velocity (Fort et al. 2020).
        var kernel = new Plot();
        var fromStart = kernel.Add.ScatterLine(times, m.KernelDistanceFromStart.Select(Finite).ToArray(), palette.GetColor(0));
        fromStart.LegendText = "distance from the start";
        var velocity = kernel.Add.ScatterLine(times, m.KernelVelocity.Select(Finite).ToArray(), palette.GetColor(1));
        velocity.LegendText = kind == "rfm" ? "velocity (per iteration)" : "velocity (per epoch)";
        // The relative Frobenius change includes the kernel's scale, which the distance ignores: on its own axis.
        var relative = kernel.Add.ScatterLine(times, m.KernelRelativeChangeFromStart.Select(Finite).ToArray(), palette.GetColor(2));
        relative.LegendText = "‖K_t − K_0‖_F / ‖K_0‖_F (right axis)";
        relative.Axes.YAxis = kernel.Axes.Right;
        kernel.Axes.Right.Label.Text = "relative change";
        kernel.ShowLegend(Alignment.UpperRight);
        Label(kernel, "Kernel distance 1 − ⟨K_t, K_0⟩_F / (‖K_t‖_F ‖K_0‖_F) and its velocity", unit, "kernel distance");
        figures.Add(Save(dir, "kernel_distance", kernel,
            "How far the kernel matrix on the subsample moved from its start (scale-free; 0 for a fixed kernel), the distance between consecutive snapshots per unit of time, and (right axis) the relative change ‖K_t − K_0‖_F/‖K_0‖_F, scale included."));

        // (7) Alignment with the labels.
        var align = new Plot();
        var alignment = align.Add.ScatterLine(times, m.KernelTargetAlignment.Select(Finite).ToArray(), palette.GetColor(0));
        alignment.LegendText = "kernel–target alignment";
        c = 1;
        foreach (var (dim, captured) in m.TargetCaptured)
        {
            var line = align.Add.ScatterLine(times, captured.Select(Finite).ToArray(), palette.GetColor(c++));
            line.LegendText = $"‖Y‖² share in top {dim}";
        }
        align.ShowLegend(Alignment.LowerRight);
        Label(align, "Label alignment: ⟨K_t, YY^T⟩_F / (‖K_t‖_F ‖YY^T‖_F) and the targets' share in the top-k eigenvectors", unit, "fraction");
        figures.Add(Save(dir, "label_alignment", align,
            "Whether the kernel turns towards the labels: its alignment with the one-hot targets, and the fraction of the targets' energy the top-k training-data eigenvectors capture."));

        // (8) Scores.
        var scores = new Plot();
        var acc = run.Snapshots.Where(s => s.ValidationAccuracy is not null).ToArray();
        if (acc.Length > 0)
        {
            var line = scores.Add.ScatterLine(acc.Select(s => s.Time).ToArray(), acc.Select(s => 100 * s.ValidationAccuracy!.Value).ToArray(), palette.GetColor(0));
            line.LegendText = "test accuracy %";
        }
        var train = run.Snapshots.Where(s => s.TrainAccuracy is not null).ToArray();
        if (train.Length > 0)
        {
            var line = scores.Add.ScatterLine(train.Select(s => s.Time).ToArray(), train.Select(s => 100 * s.TrainAccuracy!.Value).ToArray(), palette.GetColor(1));
            line.LegendText = "train accuracy %";
        }
        scores.ShowLegend(Alignment.LowerRight);
        Label(scores, "Accuracy", unit, "%");
        figures.Add(Save(dir, "scores", scores, "Train and test accuracy at every t."));
        return figures;
    }

    /// <summary>NaN (a run recorded before a metric existed) drawn as 0 would lie; ScottPlot skips NaN points.</summary>
    private static double Finite(double v) => double.IsFinite(v) ? v : double.NaN;

    /// <summary>Titles the plot; a time axis (epochs, iterations) gets whole-number ticks — there is no iteration 0.2.</summary>
    private static void Label(Plot plot, string title, string x, string y, bool timeAxis = true)
    {
        plot.Title(title, 15);
        plot.XLabel(x, 13);
        plot.YLabel(y, 13);
        if (timeAxis) plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
    }

    private static Figure Save(string dir, string stem, Plot plot, string caption)
    {
        byte[] png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(Path.Combine(dir, stem + ".png"), s => s.Write(png));
        AtomicFile.WriteText(Path.Combine(dir, stem + ".svg"), plot.GetSvgXml(Width, Height));
        return new Figure(stem, caption, png);
    }

    private static string Section(DynamicsRun run, IReadOnlyList<Figure> figures)
    {
        var sb = new StringBuilder();
        sb.Append(Inv, $"<section><h2>{E(run.Name)}</h2>\n<p class=\"finding\">{E(run.Finding)}</p>\n<table>");
        foreach (var p in run.Settings.EnumerateObject())
            sb.Append(Inv, $"<tr><th>{E(p.Name)}</th><td>{E(p.Value.ToString())}</td></tr>");
        if (run.Timings is { } timings)
            foreach (var p in timings.EnumerateObject())
                sb.Append(Inv, $"<tr><th>{E(p.Name)}</th><td>{E(p.Value.ValueKind == System.Text.Json.JsonValueKind.Number ? p.Value.GetDouble().ToString("G4", Inv) : p.Value.ToString())}</td></tr>");
        sb.Append("</table>\n");
        sb.Append(Inv, $"<p>Change ceased at t* = {(run.Metrics.CeasedAt is int t ? t.ToString(Inv) : "— (not by the last snapshot)")} (top-{run.Metrics.CeaseDimension} subspace, consecutive distance below the tolerance).</p>\n");
        foreach (var f in figures)
            sb.Append(Inv, $"<figure><img alt=\"{E(f.Stem)}\" src=\"data:image/png;base64,{Convert.ToBase64String(f.Png)}\"><figcaption>{E(f.Caption)} (<a href=\"{E(Path.Combine(run.Name, "plots", f.Stem + ".svg"))}\">SVG</a>)</figcaption></figure>\n");
        sb.Append("</section>\n");
        return sb.ToString();
    }

    private static string Comparison(IReadOnlyList<DynamicsRun> runs)
    {
        var sb = new StringBuilder("<section><h2>Runs side by side</h2><table><tr><th>run</th><th>kernel</th><th>snapshots</th><th>kernel fixed</th><th>ceased at t*</th><th>final top-k distance from start</th><th>final kernel distance</th><th>final ‖K_t − K_0‖/‖K_0‖</th><th>alignment start → end</th><th>final test accuracy</th></tr>");
        foreach (var r in runs)
        {
            var last = r.Metrics.Subspaces[^1];
            var acc = r.Snapshots.LastOrDefault(s => s.ValidationAccuracy is not null)?.ValidationAccuracy;
            sb.Append(Inv, $"<tr><td>{E(r.Name)}</td><td>{E(r.Settings.TryGetProperty("kernel", out var k) ? k.ToString() : "")}</td><td>{r.Snapshots.Count}</td><td>{r.Metrics.KernelFixed}</td><td>{(r.Metrics.CeasedAt?.ToString(Inv) ?? "—")}</td><td>k = {last.K}: {last.FromStart[^1]:G3}</td><td>{r.Metrics.KernelDistanceFromStart[^1]:G3}</td><td>{r.Metrics.KernelRelativeChangeFromStart[^1]:G3}</td><td>{r.Metrics.KernelTargetAlignment[0]:G4} → {r.Metrics.KernelTargetAlignment[^1]:G4}</td><td>{(acc is double a ? (100 * a).ToString("F2", Inv) + " %" : "—")}</td></tr>");
        }
        sb.Append("</table>\n");
        // The runs on common axes, time in epochs (RFM: iterations): the kernel's motion (shape and scale), its label alignment, the
        // top-10 subspace distance and the test accuracy.
        var palette = new ScottPlot.Palettes.Category10();
        var plots = new[]
        {
            new CommonAxes(new Plot(), "compare_kernel_distance", "Runs side by side: kernel distance from the start", "1 − cosine to K_0",
                "The kernel matrix's distance from its start: exactly 0 for the fixed NTK, growing for a finite network's empirical NTK and for RFM."),
            new CommonAxes(new Plot(), "compare_kernel_relative_change", "Runs side by side: relative change of the kernel", "‖K_t − K_0‖_F / ‖K_0‖_F",
                "The kernel matrix's relative Frobenius change from its start, scale included (the quantity the infinite-width theory bounds by O(1/√w)): 0 for the fixed NTK."),
            new CommonAxes(new Plot(), "compare_label_alignment", "Runs side by side: kernel–target alignment", "alignment",
                "Each kernel's alignment with the one-hot labels over time: a kernel that learns features turns towards the labels."),
            new CommonAxes(new Plot(), "compare_subspace_distance", "Runs side by side: subspace distance from the start", "projection distance",
                "How far each run's leading eigenvector subspace moved from its start."),
            new CommonAxes(new Plot(), "compare_accuracy", "Runs side by side: test accuracy", "%", "Each run's test accuracy over time."),
        };
        for (int i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            var sub = r.Metrics.Subspaces[0];
            double[] t = r.Metrics.Epochs;
            var color = palette.GetColor(i);
            plots[0].Plot.Add.ScatterLine(t, r.Metrics.KernelDistanceFromStart.Select(Finite).ToArray(), color).LegendText = r.Name;
            plots[1].Plot.Add.ScatterLine(t, r.Metrics.KernelRelativeChangeFromStart.Select(Finite).ToArray(), color).LegendText = r.Name;
            plots[2].Plot.Add.ScatterLine(t, r.Metrics.KernelTargetAlignment.Select(Finite).ToArray(), color).LegendText = r.Name;
            plots[3].Plot.Add.ScatterLine(t, sub.FromStart, color).LegendText = $"{r.Name} (top {sub.K})";
            var acc = r.Snapshots.Where(x => x.ValidationAccuracy is not null).ToArray();
            if (acc.Length > 0)
                plots[4].Plot.Add.ScatterLine(acc.Select(x => x.Time).ToArray(), acc.Select(x => 100 * x.ValidationAccuracy!.Value).ToArray(), color).LegendText = r.Name;
        }
        foreach (var (plot, stem, title, y, caption) in plots)
        {
            plot.ShowLegend(stem == "compare_accuracy" ? Alignment.LowerRight : Alignment.UpperLeft);
            Label(plot, title, "time (epochs; RFM: iterations)", y);
            byte[] png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
            sb.Append(Inv, $"<figure><img alt=\"{stem}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\"><figcaption>{E(caption)}</figcaption></figure>\n");
        }
        sb.Append("</section>\n");
        return sb.ToString();
    }

    private static string Page(IReadOnlyList<DynamicsRun> runs, string body) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Training-data eigenvector dynamics — {{E(string.Join(", ", runs.Select(r => r.Name)))}}</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; line-height: 1.45; }
        h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
        table { border-collapse: collapse; margin: 1em 0; font-size: .9em; } th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
        .finding { background: #f3f7ff; border-left: 4px solid #3a6fd8; padding: .6em .9em; }
        figure { margin: 1.5em 0; } img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: .9em; color: #555; }
        </style></head>
        <body>
        <h1>Training-data eigenvector dynamics</h1>
        <p>Eigenvectors of the kernel matrix on a Nyström subsample fixed for each run (K(X_s, X_s)/s), recorded before training
        and after every epoch or iteration; metrics as in the EigenProNet dynamics design. Distances are sign- and
        rotation-invariant; the study's sum-of-entries metric is shown after a fixed sign convention.</p>
        {{body}}
        <p id="image-check"></p>
        <script>
        window.addEventListener("load", () => {
          const images = Array.from(document.images);
          const broken = images.filter(i => !(i.complete && i.naturalWidth > 0));
          document.getElementById("image-check").textContent = `${images.length} images, ${broken.length} broken`;
        });
        </script>
        </body></html>
        """;

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
