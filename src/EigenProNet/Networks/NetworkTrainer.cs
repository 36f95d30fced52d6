using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using EigenProNet.Solvers;

namespace EigenProNet.Networks;

/// <summary>The training loss of a <see cref="NetworkTrainer"/>.</summary>
public enum NetworkLoss
{
    /// <summary>(1/b)·Σ ½‖f(x) − y‖² over the batch (the regime the NTK describes: gradient flow on it is kernel regression).</summary>
    MeanSquaredError,
    /// <summary>Softmax cross-entropy against the one-hot targets.</summary>
    CrossEntropy,
}

/// <summary>Architecture and training settings of a <see cref="NetworkTrainer"/>.</summary>
public sealed record NetworkTrainerOptions
{
    /// <summary>Units per hidden layer w.</summary>
    public int Width { get; init; } = 1024;
    /// <summary>Hidden layers D.</summary>
    public int Depth { get; init; } = 2;
    /// <summary>β of the biases; 0 (default) trains without biases.</summary>
    public double BiasScale { get; init; }
    /// <summary>
    /// Step size η of SGD on the batch-mean loss; null (default) chooses η = 1/λ₁ with λ₁ the top eigenvalue of the
    /// initial network's per-output empirical NTK on the first batch divided by the batch size: half the largest step
    /// at which gradient descent on the linearised network is stable (2/λ₁).
    /// </summary>
    public double? LearningRate { get; init; }
    /// <summary>Rows per step.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Heavy-ball momentum μ (v ← μ·v + g, θ ← θ − η·v); 0 is plain SGD.</summary>
    public double Momentum { get; init; }
    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 20;
    /// <summary>Loss.</summary>
    public NetworkLoss Loss { get; init; } = NetworkLoss.MeanSquaredError;
    /// <summary>Training rows scored after every epoch (a fixed random subset when fewer than n).</summary>
    public int EvaluationRows { get; init; } = 5000;
    /// <summary>Seed of the initial weights and of every epoch's order.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Continue from this checkpoint (its network and momentum) with epoch <c>Epoch + 1</c>.</summary>
    public NetworkCheckpoint? ResumeFrom { get; init; }
    /// <summary>Threads and SIMD path.</summary>
    public ComputeContext? Compute { get; init; }
}

/// <summary>A network between epochs, with what training needs to continue from it bit for bit.</summary>
/// <param name="Epoch">Epochs done.</param>
/// <param name="Network">The parameters (a copy the checkpoint owns).</param>
/// <param name="Velocity">The momentum buffers in parameter order (w₀, b₀, w₁, …), or null without momentum.</param>
public sealed record NetworkCheckpoint(int Epoch, ReluNetwork Network, IReadOnlyList<float[]>? Velocity)
{
    /// <summary>As named arrays (the network's, plus <c>epoch</c> and <c>velocity{i}</c>).</summary>
    public Dictionary<string, NpyArray> ToArrays()
    {
        var arrays = Network.ToArrays();
        arrays["epoch"] = new NpyArray(new long[] { Epoch }, 1);
        if (Velocity is not null)
            for (int i = 0; i < Velocity.Count; i++) arrays[$"velocity{i}"] = new NpyArray((float[])Velocity[i].Clone(), Velocity[i].Length);
        return arrays;
    }

    /// <summary>A checkpoint from <see cref="ToArrays"/>'s arrays.</summary>
    /// <exception cref="DataFormatException">Missing or mis-shaped arrays (named with <paramref name="source"/>).</exception>
    public static NetworkCheckpoint FromArrays(IReadOnlyDictionary<string, NpyArray> arrays, string source)
    {
        var network = ReluNetwork.FromArrays(arrays, source);
        if (!arrays.TryGetValue("epoch", out var e) || e.Data is not long[] { Length: 1 } epoch || epoch[0] < 0 || epoch[0] > int.MaxValue)
            throw new DataFormatException($"{source}: no valid 'epoch' array (not a network checkpoint?).");
        var shapes = NetworkTrainer.ParameterLengths(network);
        if (!arrays.ContainsKey("velocity0")) return new NetworkCheckpoint((int)epoch[0], network, null);
        var velocity = new float[shapes.Count][];
        for (int i = 0; i < shapes.Count; i++)
        {
            if (!arrays.TryGetValue($"velocity{i}", out var v) || v.Data is not float[] data || data.Length != shapes[i])
                throw new DataFormatException($"{source}: 'velocity{i}' must hold {shapes[i]} float32 values.");
            velocity[i] = (float[])data.Clone();
        }
        return new NetworkCheckpoint((int)epoch[0], network, velocity);
    }
}

/// <summary>One SGD step done.</summary>
/// <param name="Step">Steps since initialisation (1-based; the checkpoint's epochs count in full).</param>
/// <param name="Epoch">1-based epoch of the step.</param>
/// <param name="Batch">1-based batch within the epoch.</param>
/// <param name="BatchesPerEpoch">Steps per epoch.</param>
/// <param name="Loss">The batch's loss before the step.</param>
public sealed record NetworkStep(int Step, int Epoch, int Batch, int BatchesPerEpoch, double Loss)
{
    /// <summary>Time in epochs: Step / BatchesPerEpoch.</summary>
    public double EpochTime => (double)Step / BatchesPerEpoch;
}

/// <summary>
/// Callbacks a <see cref="NetworkTrainer"/> makes, like the kernel solvers' <see cref="ITrainingObserver"/>: how the
/// dynamics recorder watches a network train. The network handed out is the live one: read it, do not modify it.
/// </summary>
public interface INetworkObserver
{
    /// <summary>Training starts (step 0, or the checkpoint's step when resuming).</summary>
    void OnStart(ReluNetwork network, int batchesPerEpoch, int firstStep) { }

    /// <summary>A step has updated the parameters.</summary>
    void OnStep(NetworkStep step, ReluNetwork network) { }

    /// <summary>An epoch has ended (after its last step's <see cref="OnStep"/>); <paramref name="checkpoint"/> holds copies to resume from.</summary>
    void OnEpoch(EpochReport report, int step, NetworkCheckpoint checkpoint) { }
}

/// <summary>The loss left every bound: training stopped before writing non-finite parameters anywhere.</summary>
public sealed class NetworkDivergedException(int epoch, int step, double loss, double learningRate)
    : ArithmeticException(string.Create(CultureInfo.InvariantCulture,
        $"Training diverged in epoch {epoch} (step {step}: batch loss {loss:G4}) with learning rate {learningRate:G4}; use a smaller learning rate."))
{
    /// <summary>1-based epoch.</summary>
    public int Epoch { get; } = epoch;
    /// <summary>The step whose loss diverged.</summary>
    public int Step { get; } = step;
    /// <summary>That loss (may be NaN or infinite).</summary>
    public double Loss { get; } = loss;
}

/// <summary>What the trainer chose, for reports.</summary>
public sealed record NetworkSettings(int Width, int Depth, double BiasScale, double LearningRate, string LearningRateRule, int BatchSize, double Momentum, string Loss,
    int Epochs, int BatchesPerEpoch, long Parameters, int Seed);

/// <summary>The trained network, one report per epoch and the settings.</summary>
public sealed record NetworkTrainingResult(ReluNetwork Network, IReadOnlyList<EpochReport> Epochs, NetworkSettings Settings);

/// <summary>
/// Trains a <see cref="ReluNetwork"/> by mini-batch SGD (optionally with momentum) on MSE to the one-hot targets (or
/// cross-entropy): forward and backward passes are GEMMs on the library's driver, memory O(b·w·D) besides the weights.
/// Every epoch's row order comes from its own stream of the seed, so a run resumed from a checkpoint continues exactly.
/// </summary>
public sealed class NetworkTrainer
{
    /// <summary>A trainer with <paramref name="options"/> (defaults when null).</summary>
    /// <exception cref="ArgumentException">An option out of range (named).</exception>
    public NetworkTrainer(NetworkTrainerOptions? options = null)
    {
        Options = options ?? new NetworkTrainerOptions();
        var o = Options;
        if (o.Width < 1) throw new ArgumentException($"Width must be at least 1, found {o.Width}.", nameof(options));
        if (o.Depth < 0) throw new ArgumentException($"Depth (hidden layers) must be at least 0, found {o.Depth}.", nameof(options));
        if (o.LearningRate is double lr && (!(lr > 0) || !double.IsFinite(lr)))
            throw new ArgumentException($"The learning rate must be positive and finite, found {lr}.", nameof(options));
        if (o.BatchSize < 1) throw new ArgumentException($"The batch size must be at least 1, found {o.BatchSize}.", nameof(options));
        if (!(o.Momentum >= 0 && o.Momentum < 1)) throw new ArgumentException($"Momentum must be in [0, 1), found {o.Momentum}.", nameof(options));
        if (o.Epochs < 0) throw new ArgumentException($"Epochs must be at least 0, found {o.Epochs}.", nameof(options));
        if (o.EvaluationRows < 1) throw new ArgumentException($"EvaluationRows must be at least 1, found {o.EvaluationRows}.", nameof(options));
        Guard.Finite(o.BiasScale, nameof(options));
    }

    /// <summary>The settings.</summary>
    public NetworkTrainerOptions Options { get; }

    /// <summary>Trains on a dataset (one-hot targets for classification), scoring <paramref name="validation"/> after every epoch.</summary>
    public NetworkTrainingResult Fit(Dataset train, Dataset? validation = null, IProgress<TrainingProgress>? progress = null,
        INetworkObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        return Fit(train.Features, train.TargetMatrix(), validation?.Features, validation?.TargetMatrix(), train.ClassCount, progress, observer, cancellationToken);
    }

    /// <summary>
    /// Trains on features <paramref name="x"/> (n × d, scaled) and targets <paramref name="y"/> (n × c);
    /// <paramref name="classCount"/> &gt; 0 reports accuracies.
    /// </summary>
    /// <exception cref="NetworkDivergedException">The loss became non-finite or grew a thousandfold.</exception>
    public NetworkTrainingResult Fit(Matrix x, Matrix y, Matrix? validationX = null, Matrix? validationY = null, int classCount = 0,
        IProgress<TrainingProgress>? progress = null, INetworkObserver? observer = null, CancellationToken cancellationToken = default)
    {
        TrainingInput.Check(x, y, validationX, validationY, 1, "The network trainer");
        Guard.AllFinite(x, nameof(x));
        var o = Options;
        var compute = o.Compute ?? ComputeContext.Default;
        ReluNetwork net;
        float[][]? velocity = null;
        int firstEpoch = 1;
        if (o.ResumeFrom is { } resume)
        {
            net = resume.Network.Clone();
            if (net.Inputs != x.Columns || net.Outputs != y.Columns || net.Width != o.Width || net.Depth != o.Depth || net.BiasScale != o.BiasScale)
                throw new ArgumentException($"The checkpoint's {net} does not match the options (width {o.Width}, depth {o.Depth}) and data ({x.Columns} features, {y.Columns} outputs).", nameof(x));
            velocity = resume.Velocity?.Select(v => (float[])v.Clone()).ToArray();
            firstEpoch = resume.Epoch + 1;
        }
        else net = ReluNetwork.Initialize(x.Columns, o.Width, o.Depth, y.Columns, o.Seed, o.BiasScale);
        if (o.Momentum > 0) velocity ??= ParameterLengths(net).Select(n => new float[n]).ToArray();

        int n = x.Rows, b = Math.Min(o.BatchSize, n), batches = (n + b - 1) / b;
        double learningRate = o.LearningRate ?? AutomaticLearningRate(x, y.Columns, n, b, compute);
        var settings = new NetworkSettings(o.Width, o.Depth, o.BiasScale, learningRate, o.LearningRate is null ? "1/λ₁ of the initial batch NTK" : "given", b, o.Momentum,
            o.Loss == NetworkLoss.CrossEntropy ? "cross-entropy" : "mse", o.Epochs, batches, net.ParameterCount, o.Seed);
        var pass = new NetworkPass(net, b);
        var gradients = new NetworkGradients(net);
        var xb = new Matrix(b, x.Columns);
        var yb = new Matrix(b, y.Columns);
        var g = new Matrix(b, y.Columns);
        var evaluation = new NetworkEvaluation(x, y, validationX, validationY, Math.Min(o.EvaluationRows, n), classCount > 0, o.Seed);
        int step = (firstEpoch - 1) * batches;
        observer?.OnStart(net, batches, step);
        var reports = new List<EpochReport>();
        double? firstLoss = null;
        for (int epoch = firstEpoch; epoch <= o.Epochs; epoch++)
        {
            var order = Preprocessing.Permutation(n, SeedStreams.Create(o.Seed, SeedStreams.EpochShuffle, epoch));
            var clock = Stopwatch.StartNew();
            double observed = 0;
            for (int batch = 0; batch < batches; batch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = batch * b, rows = Math.Min(b, n - start);
                for (int r = 0; r < rows; r++)
                {
                    x.Row(order[start + r]).CopyTo(xb.Row(r));
                    y.Row(order[start + r]).CopyTo(yb.Row(r));
                }
                var f = pass.Forward(xb.RowBlock(0, rows), compute);
                double loss = LossGradient(f, yb.RowBlock(0, rows), g.RowBlock(0, rows), o.Loss);
                step++;
                firstLoss ??= loss;
                if (!double.IsFinite(loss) || loss > 1e3 * Math.Max(firstLoss.Value, 1))
                    throw new NetworkDivergedException(epoch, step, loss, learningRate);
                pass.Backward(g.RowBlock(0, rows), gradients, compute);
                Update(net, gradients, velocity, (float)learningRate, (float)o.Momentum);
                // A step that overflowed stops here, before any observer sees (or writes) non-finite parameters.
                if (!Finite(net)) throw new NetworkDivergedException(epoch, step, double.PositiveInfinity, learningRate);
                var around = Stopwatch.StartNew();
                observer?.OnStep(new NetworkStep(step, epoch, batch + 1, batches, loss), net);
                progress?.Report(new TrainingProgress("train", epoch, o.Epochs, batch + 1, batches, (long)start + rows, clock.Elapsed));
                observed += around.Elapsed.TotalSeconds;
            }
            double seconds = clock.Elapsed.TotalSeconds - observed;
            var evaluating = Stopwatch.StartNew();
            var (trainMse, trainAcc, testMse, testAcc) = evaluation.Run(net, compute, cancellationToken);
            var report = new EpochReport(epoch, seconds, evaluating.Elapsed.TotalSeconds, trainMse, trainAcc, testMse, testAcc);
            reports.Add(report);
            observer?.OnEpoch(report, step, new NetworkCheckpoint(epoch, net.Clone(), velocity?.Select(v => (float[])v.Clone()).ToArray()));
        }
        return new NetworkTrainingResult(net, reports, settings);
    }

    /// <summary>
    /// 1/λ₁ of Θ₀(X_B, X_B)/(c·b) on epoch 1's first batch, Θ₀ the empirical NTK of the network initialised from the seed
    /// (also when resuming, so a resumed run steps as the uninterrupted one did).
    /// </summary>
    private double AutomaticLearningRate(Matrix x, int outputs, int n, int b, ComputeContext compute)
    {
        var o = Options;
        var initial = ReluNetwork.Initialize(x.Columns, o.Width, o.Depth, outputs, o.Seed, o.BiasScale);
        var order = Preprocessing.Permutation(n, SeedStreams.Create(o.Seed, SeedStreams.EpochShuffle, 1));
        var rows = new Matrix(b, x.Columns);
        for (int r = 0; r < b; r++) x.Row(order[r]).CopyTo(rows.Row(r));
        var theta = EmpiricalNtk.Compute(initial, rows, compute);
        double top = SymmetricEigen.Top(theta, 1, context: compute).Values[0] / ((double)initial.Outputs * b);
        return top > 0 && double.IsFinite(top) ? 1 / top : throw new ArgumentException("The initial empirical NTK of the first batch is zero (all-zero rows?): give a learning rate.");
    }

    /// <summary>Writes ∂L/∂f into <paramref name="gradient"/> and returns the batch loss L.</summary>
    private static double LossGradient(MatrixView f, MatrixView y, MatrixView gradient, NetworkLoss loss)
    {
        int rows = f.Rows;
        float inv = 1f / rows;
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            var fr = f.Row(r);
            var yr = y.Row(r);
            var gr = gradient.Row(r);
            if (loss == NetworkLoss.MeanSquaredError)
            {
                TensorPrimitives.Subtract(fr, yr, gr);
                total += 0.5 * TensorPrimitives.Dot(gr, gr);
                TensorPrimitives.Multiply(gr, inv, gr);
            }
            else
            {
                // Softmax with the maximum subtracted; ∂L/∂f = softmax(f) − y.
                float max = TensorPrimitives.Max(fr);
                double z = 0;
                for (int j = 0; j < fr.Length; j++) z += Math.Exp(fr[j] - max);
                double logZ = max + Math.Log(z);
                for (int j = 0; j < fr.Length; j++)
                {
                    double p = Math.Exp(fr[j] - logZ);
                    total -= yr[j] * (fr[j] - logZ);
                    gr[j] = (float)((p - yr[j]) * inv);
                }
            }
        }
        return total / rows;
    }

    private static void Update(ReluNetwork net, NetworkGradients gradients, float[][]? velocity, float lr, float momentum)
    {
        int k = 0;
        for (int i = 0; i < net.LayerCount; i++)
        {
            Apply(net.Weight(i).Data, gradients.Weights[i].Data, velocity?[k++]);
            if (net.Bias(i) is { } bias) Apply(bias, gradients.Biases[i]!, velocity?[k++]);
        }

        void Apply(Span<float> theta, ReadOnlySpan<float> grad, float[]? v)
        {
            if (v is null) { TensorPrimitives.MultiplyAdd(grad, -lr, theta, theta); return; }
            TensorPrimitives.MultiplyAdd(v, momentum, grad, v);
            TensorPrimitives.MultiplyAdd(v, -lr, theta, theta);
        }
    }

    private static bool Finite(ReluNetwork net)
    {
        for (int i = 0; i < net.LayerCount; i++)
            if (!TensorPrimitives.IsFiniteAll<float>(net.Weight(i).Data) || (net.Bias(i) is { } b && !TensorPrimitives.IsFiniteAll<float>(b))) return false;
        return true;
    }

    /// <summary>Lengths of the parameter tensors in order w₀, b₀, w₁, … (biases only when present).</summary>
    internal static IReadOnlyList<int> ParameterLengths(ReluNetwork net)
    {
        var lengths = new List<int>();
        for (int i = 0; i < net.LayerCount; i++)
        {
            lengths.Add(net.Weight(i).Data.Length);
            if (net.Bias(i) is { } b) lengths.Add(b.Length);
        }
        return lengths;
    }
}

/// <summary>The per-epoch scores of a network: a fixed random subset of the training rows and the validation data.</summary>
internal sealed class NetworkEvaluation
{
    private readonly Matrix _trainX, _trainY;
    private readonly Matrix? _testX, _testY;
    private readonly bool _classification;

    public NetworkEvaluation(Matrix x, Matrix y, Matrix? testX, Matrix? testY, int trainRows, bool classification, int seed)
    {
        int[] rows;
        if (trainRows >= x.Rows) rows = Enumerable.Range(0, x.Rows).ToArray();
        else
        {
            rows = Preprocessing.Permutation(x.Rows, SeedStreams.Create(seed, SeedStreams.EvaluationRows))[..trainRows];
            Array.Sort(rows);
        }
        _trainX = new Matrix(rows.Length, x.Columns);
        _trainY = new Matrix(rows.Length, y.Columns);
        for (int i = 0; i < rows.Length; i++) { x.Row(rows[i]).CopyTo(_trainX.Row(i)); y.Row(rows[i]).CopyTo(_trainY.Row(i)); }
        (_testX, _testY, _classification) = (testX, testY, classification);
    }

    public (double TrainMse, double? TrainAccuracy, double? TestMse, double? TestAccuracy) Run(ReluNetwork net, ComputeContext compute, CancellationToken ct)
    {
        var p = net.Predict(_trainX, compute, ct);
        double mse = Metrics.MeanSquaredError(p, _trainY);
        double? acc = _classification ? Metrics.Accuracy(p, Metrics.ArgMax(_trainY)) : null;
        if (_testX is null) return (mse, acc, null, null);
        var pt = net.Predict(_testX, compute, ct);
        return (mse, acc, Metrics.MeanSquaredError(pt, _testY!), _classification ? Metrics.Accuracy(pt, Metrics.ArgMax(_testY!)) : null);
    }
}
