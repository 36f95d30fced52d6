using System.Diagnostics;
using System.Globalization;
using EigenProNet.Solvers;
using Spectre.Console;

namespace EigenProNet.Cli;

/// <summary>
/// Shows training progress: a Spectre.Console progress bar (epoch, batch, samples/s, ETA) on a terminal, plain
/// lines — one per epoch and at most one every few seconds within it — when stderr is redirected (CI, logs).
/// </summary>
internal static class ProgressDisplay
{
    public static T Run<T>(TextWriter stderr, string title, Func<IProgress<TrainingProgress>, T> work)
    {
        bool terminal = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!terminal) return work(new PlainProgress(stderr));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: 1);
                return work(new BarProgress(task, title));
            });
    }

    private sealed class BarProgress(ProgressTask task, string title) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Epochs > 0 && p.Batches > 0)
            {
                task.MaxValue = (double)p.Epochs * p.Batches;
                task.Value = (double)(Math.Max(p.Epoch, 1) - 1) * p.Batches + p.Batch;
            }
            task.Description = Markup.Escape(p.Phase == "train"
                ? string.Create(CultureInfo.InvariantCulture, $"{title}: epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches} {p.SamplesPerSecond:F0} samples/s")
                : $"{title}: {p.Phase}" + (p.Epoch > 0 ? $" (epoch {p.Epoch}/{p.Epochs})" : ""));
        }
    }

    private sealed class PlainProgress(TextWriter stderr) : IProgress<TrainingProgress>
    {
        private readonly Stopwatch _sinceLine = Stopwatch.StartNew();
        private string _lastPhase = "";

        public void Report(TrainingProgress p)
        {
            bool phaseChange = p.Phase != _lastPhase || (p.Phase == "train" && p.Batch == 1);
            bool epochEnd = p.Phase == "train" && p.Batch == p.Batches;
            if (!phaseChange && !epochEnd && _sinceLine.Elapsed.TotalSeconds < 5) return;
            _lastPhase = p.Phase;
            _sinceLine.Restart();
            if (p.Phase != "train") { stderr.WriteLine(p.Epoch > 0 ? $"{p.Phase} (epoch {p.Epoch}/{p.Epochs})" : p.Phase); return; }
            double eta = p.SamplesPerSecond > 0 && p.Batches > 0
                ? (p.Elapsed.TotalSeconds / p.Batch) * ((double)p.Batches * (p.Epochs - p.Epoch) + p.Batches - p.Batch) : 0;
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {p.Epoch}/{p.Epochs}  batch {p.Batch}/{p.Batches}  {p.Samples} samples  {p.Elapsed.TotalSeconds:F1} s  {p.SamplesPerSecond:F0} samples/s  ETA {eta:F0} s"));
        }
    }
}
