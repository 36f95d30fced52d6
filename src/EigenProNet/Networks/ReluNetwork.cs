using System.Numerics.Tensors;
using EigenProNet.Data;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;

namespace EigenProNet.Networks;

/// <summary>
/// A fully-connected ReLU network in the NTK parameterisation: with a₀ = x (d inputs), for every layer i = 0 … D
/// h_i = W_i·a_i / √n_i + β·b_i (n_i = the layer's fan-in), a_{i+1} = φ(h_i) for the D hidden layers and f = h_D for
/// the c outputs. φ(u) = √2·max(u, 0) (the He normalisation): it keeps E[φ(h)²] = E[h²], so that as the width grows the
/// network's NTK at initialisation tends to <see cref="Kernels.NtkReluKernel"/> of depth D + 1 evaluated at x/√d, i.e.
/// per output Θ(x, z) → k_{D+1}(x, z)/d (bias off). Weights and biases start N(0, 1) from the seed.
/// </summary>
public sealed class ReluNetwork
{
    private static readonly float Sqrt2 = MathF.Sqrt(2f);
    private readonly Matrix[] _weights;
    private readonly float[]?[] _biases;

    private ReluNetwork(int inputs, int width, int depth, int outputs, double biasScale, Matrix[] weights, float[]?[] biases)
    {
        Inputs = inputs;
        Width = width;
        Depth = depth;
        Outputs = outputs;
        BiasScale = biasScale;
        _weights = weights;
        _biases = biases;
    }

    /// <summary>Input dimension d.</summary>
    public int Inputs { get; }

    /// <summary>Units per hidden layer w.</summary>
    public int Width { get; }

    /// <summary>Hidden layers D (D = 0 is a linear model).</summary>
    public int Depth { get; }

    /// <summary>Outputs c.</summary>
    public int Outputs { get; }

    /// <summary>β, the factor of every bias; 0 when the network has no biases.</summary>
    public double BiasScale { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool HasBias => BiasScale != 0;

    /// <summary>Number of weight layers, D + 1.</summary>
    public int LayerCount => _weights.Length;

    /// <summary>W_i (fan-out × fan-in) of layer i, read-only by contract (trainers update it in place).</summary>
    public Matrix Weight(int layer) => _weights[layer];

    /// <summary>b_i of layer i, or null without biases.</summary>
    public float[]? Bias(int layer) => _biases[layer];

    /// <summary>Fan-in n_i of layer i.</summary>
    public int FanIn(int layer) => _weights[layer].Columns;

    /// <summary>Trainable parameters P.</summary>
    public long ParameterCount => _weights.Sum(w => (long)w.Data.Length) + _biases.Sum(b => (long)(b?.Length ?? 0));

    /// <summary>A network with N(0, 1) weights (and biases when <paramref name="biasScale"/> ≠ 0) drawn from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">A size below 1 (depth below 0) or a non-finite bias scale.</exception>
    public static ReluNetwork Initialize(int inputs, int width, int depth, int outputs, int seed, double biasScale = 0)
    {
        if (inputs < 1) throw new ArgumentException($"Expected at least 1 input, found {inputs}.", nameof(inputs));
        if (width < 1) throw new ArgumentException($"Expected a width of at least 1, found {width}.", nameof(width));
        if (depth < 0) throw new ArgumentException($"Expected a depth (hidden layers) of at least 0, found {depth}.", nameof(depth));
        if (outputs < 1) throw new ArgumentException($"Expected at least 1 output, found {outputs}.", nameof(outputs));
        Guard.Finite(biasScale, nameof(biasScale));
        var weights = new Matrix[depth + 1];
        var biases = new float[]?[depth + 1];
        for (int i = 0; i <= depth; i++)
        {
            int fanIn = i == 0 ? inputs : width, fanOut = i == depth ? outputs : width;
            weights[i] = Matrix.RandomNormal(fanOut, fanIn, SeedStreams.Derive(seed, SeedStreams.NetworkWeights, i));
            if (biasScale != 0) biases[i] = Matrix.RandomNormal(1, fanOut, SeedStreams.Derive(seed, SeedStreams.NetworkBiases, i)).Data;
        }
        return new ReluNetwork(inputs, width, depth, outputs, biasScale, weights, biases);
    }

    /// <summary>A deep copy.</summary>
    public ReluNetwork Clone() => new(Inputs, Width, Depth, Outputs, BiasScale, _weights.Select(w => w.Clone()).ToArray(),
        _biases.Select(b => (float[]?)b?.Clone()).ToArray());

    /// <summary>Outputs f(x) (n × c) for every row of <paramref name="x"/> (n × d), in blocks of rows.</summary>
    /// <exception cref="ArgumentException">Wrong number of features.</exception>
    public Matrix Predict(MatrixView x, ComputeContext? context = null, CancellationToken cancellationToken = default)
    {
        CheckInputs(x, nameof(x));
        var compute = context ?? ComputeContext.Default;
        var output = new Matrix(x.Rows, Outputs);
        const int block = 1024;
        var pass = new NetworkPass(this, Math.Min(block, Math.Max(1, x.Rows)), withGradients: false);
        for (int start = 0; start < x.Rows; start += block)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int rows = Math.Min(block, x.Rows - start);
            pass.Forward(x.RowBlock(start, rows), compute).CopyTo(output.RowBlock(start, rows));
        }
        return output;
    }

    /// <summary>Predicted class per row (argmax of the outputs; the sign of a single output).</summary>
    public int[] PredictClasses(MatrixView x, ComputeContext? context = null) => Metrics.ArgMax(Predict(x, context));

    /// <summary>Accuracy on a classification dataset, −MSE on a regression one (higher is better, as in scikit-learn).</summary>
    public double Score(Dataset data, ComputeContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var outputs = Predict(data.Features, context);
        return data.Labels is not null ? Metrics.Accuracy(outputs, data.Labels) : -Metrics.MeanSquaredError(outputs, data.Targets!);
    }

    internal void CheckInputs(MatrixView x, string name)
    {
        if (x.Columns != Inputs) throw new ArgumentException($"The network expects {Inputs} features, the data has {x.Columns}.", name);
    }

    /// <summary>φ(u) = √2·max(u, 0), in place.</summary>
    internal static void Activate(Span<float> values)
    {
        TensorPrimitives.Max(values, 0f, values);
        TensorPrimitives.Multiply(values, Sqrt2, values);
    }

    /// <summary>g ← g ⊙ φ′(h), with φ′ = √2 where the activation a = φ(h) is positive and 0 elsewhere.</summary>
    internal static void MultiplyByDerivative(Span<float> g, ReadOnlySpan<float> activation)
    {
        for (int j = 0; j < g.Length; j++) g[j] = activation[j] > 0 ? g[j] * Sqrt2 : 0f;
    }

    // ---- files ----

    private const long FormatVersion = 1;

    /// <summary>
    /// The parameters as named arrays (an .npz a NumPy user opens with <c>numpy.load</c>): <c>config</c> = [format
    /// version, d, w, D, c], <c>bias_scale</c> = [β], <c>w{i}</c> and, with biases, <c>b{i}</c>.
    /// </summary>
    public Dictionary<string, NpyArray> ToArrays()
    {
        var arrays = new Dictionary<string, NpyArray>
        {
            ["config"] = new(new long[] { FormatVersion, Inputs, Width, Depth, Outputs }, 5),
            ["bias_scale"] = new(new[] { BiasScale }, 1),
        };
        for (int i = 0; i < LayerCount; i++)
        {
            arrays[$"w{i}"] = NpyArray.FromMatrix(_weights[i]);
            if (_biases[i] is { } b) arrays[$"b{i}"] = new NpyArray((float[])b.Clone(), b.Length);
        }
        return arrays;
    }

    /// <summary>A network from <see cref="ToArrays"/>'s arrays.</summary>
    /// <exception cref="DataFormatException">A missing or mis-shaped array, a newer format, or non-finite values (named with <paramref name="source"/>).</exception>
    public static ReluNetwork FromArrays(IReadOnlyDictionary<string, NpyArray> arrays, string source)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        NpyArray Need(string name) => arrays.TryGetValue(name, out var a) ? a : throw new DataFormatException($"{source}: no '{name}' array (not a network file?).");
        if (Need("config").Data is not long[] { Length: 5 } config) throw new DataFormatException($"{source}: 'config' must hold 5 int64 values.");
        if (config[0] > FormatVersion) throw new DataFormatException($"{source}: network format {config[0]} is newer than this build reads ({FormatVersion}).");
        if (config[0] < 1 || config[1] < 1 || config[2] < 1 || config[3] < 0 || config[4] < 1 || config.Skip(1).Any(v => v > int.MaxValue))
            throw new DataFormatException($"{source}: invalid network configuration [{string.Join(", ", config)}].");
        if (Need("bias_scale").Data is not double[] { Length: 1 } betaData || !double.IsFinite(betaData[0]))
            throw new DataFormatException($"{source}: 'bias_scale' must hold one finite float64.");
        int d = (int)config[1], w = (int)config[2], depth = (int)config[3], c = (int)config[4];
        // Every layer has its own array: a depth beyond them is a corrupt header, refused before allocating for it.
        if (depth >= arrays.Count) throw new DataFormatException($"{source}: depth {depth} but only {arrays.Count} arrays (w0 … w{depth} expected).");
        double beta = betaData[0];
        var weights = new Matrix[depth + 1];
        var biases = new float[]?[depth + 1];
        for (int i = 0; i <= depth; i++)
        {
            int fanIn = i == 0 ? d : w, fanOut = i == depth ? c : w;
            var a = Need($"w{i}");
            if (a.Data is not float[] wd || a.Shape.Length != 2 || a.Shape[0] != fanOut || a.Shape[1] != fanIn)
                throw new DataFormatException($"{source}: 'w{i}' must be float32 of shape ({fanOut}, {fanIn}), found {a.Data.GetType().GetElementType()?.Name} ({string.Join(", ", a.Shape)}).");
            if (!TensorPrimitives.IsFiniteAll<float>(wd)) throw new DataFormatException($"{source}: 'w{i}' holds NaN or infinite values.");
            weights[i] = new Matrix(fanOut, fanIn, (float[])wd.Clone());
            if (beta == 0) continue;
            var b = Need($"b{i}");
            if (b.Data is not float[] bd || bd.Length != fanOut || !TensorPrimitives.IsFiniteAll<float>(bd))
                throw new DataFormatException($"{source}: 'b{i}' must hold {fanOut} finite float32 values.");
            biases[i] = (float[])bd.Clone();
        }
        return new ReluNetwork(d, w, depth, c, beta, weights, biases);
    }

    /// <summary>Writes the network to an .npz file (atomically); see <see cref="ToArrays"/>.</summary>
    public void Save(string path) => Npy.WriteArchive(path, ToArrays());

    /// <summary>Reads a network written by <see cref="Save"/>.</summary>
    /// <exception cref="DataFormatException">Not a network file, or a corrupt one.</exception>
    public static ReluNetwork Load(string path) => FromArrays(Npy.ReadArchive(path), path);

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"ReluNetwork(d={Inputs}, width={Width}, depth={Depth}, outputs={Outputs}{(HasBias ? $", bias β={BiasScale:G4}" : "")}, {ParameterCount} parameters)");
}

/// <summary>
/// The buffers of forward and backward passes over up to <c>capacity</c> rows: the activations a_1 … a_D of every hidden
/// layer (what the backward pass and the empirical NTK need) and two gradient buffers — O(rows·w) floats, reused.
/// </summary>
internal sealed class NetworkPass
{
    private readonly ReluNetwork _net;
    private readonly Matrix[] _activations;   // a_1 … a_D, capacity × w
    private readonly Matrix _output;
    private readonly Matrix? _gradA, _gradB;
    private int _rows;
    private MatrixView _input;

    public NetworkPass(ReluNetwork net, int capacity, bool withGradients = true)
    {
        _net = net;
        Capacity = capacity;
        _activations = Enumerable.Range(0, net.Depth).Select(_ => new Matrix(capacity, net.Width)).ToArray();
        _output = new Matrix(capacity, net.Outputs);
        if (!withGradients || net.Depth == 0) return;
        _gradA = new Matrix(capacity, net.Width);
        _gradB = new Matrix(capacity, net.Width);
    }

    public int Capacity { get; }

    /// <summary>a_{i+1} = φ(h_i) for hidden layer i, rows of the last forward pass.</summary>
    public MatrixView Activation(int hidden) => _activations[hidden].RowBlock(0, _rows);

    /// <summary>The input of layer i (x for i = 0), rows of the last forward pass.</summary>
    public MatrixView LayerInput(int layer) => layer == 0 ? _input : Activation(layer - 1);

    /// <summary>f(x) for <paramref name="x"/> (at most Capacity rows); a view on the pass's buffer.</summary>
    public MatrixView Forward(MatrixView x, ComputeContext compute)
    {
        if (x.Rows > Capacity) throw new ArgumentException($"{x.Rows} rows exceed the pass's capacity {Capacity}.", nameof(x));
        _rows = x.Rows;
        _input = x;
        for (int i = 0; i < _net.LayerCount; i++)
        {
            var h = i == _net.Depth ? _output.RowBlock(0, _rows) : _activations[i].RowBlock(0, _rows);
            Gemm.Compute(Transpose.No, Transpose.Yes, 1f / MathF.Sqrt(_net.FanIn(i)), LayerInput(i), _net.Weight(i), 0f, h, compute);
            if (_net.Bias(i) is { } b)
            {
                float beta = (float)_net.BiasScale;
                for (int r = 0; r < _rows; r++) TensorPrimitives.MultiplyAdd(b, beta, h.Row(r), h.Row(r));
            }
            if (i < _net.Depth) ReluNetwork.Activate(h.AsSpan());
        }
        return _output.RowBlock(0, _rows);
    }

    /// <summary>
    /// Back-propagates <paramref name="outputGradient"/> = ∂L/∂f (rows of the last forward pass × c) and writes ∂L/∂W_i and
    /// ∂L/∂b_i into <paramref name="gradients"/> (overwritten).
    /// </summary>
    public void Backward(MatrixView outputGradient, NetworkGradients gradients, ComputeContext compute)
    {
        var g = outputGradient;
        bool inA = true;
        for (int i = _net.Depth; i >= 0; i--)
        {
            float scale = 1f / MathF.Sqrt(_net.FanIn(i));
            // ∂L/∂W_i = gᵀ·a_i / √n_i ; ∂L/∂b_i = β·Σ_rows g.
            Gemm.Compute(Transpose.Yes, Transpose.No, scale, g, LayerInput(i), 0f, gradients.Weights[i], compute);
            if (gradients.Biases[i] is { } db)
            {
                Array.Clear(db);
                for (int r = 0; r < g.Rows; r++) TensorPrimitives.Add(db, g.Row(r), db);
                TensorPrimitives.Multiply(db, (float)_net.BiasScale, db);
            }
            if (i == 0) break;
            // ∂L/∂h_{i−1} = (g·W_i / √n_i) ⊙ φ′(h_{i−1}).
            var next = (inA ? _gradA! : _gradB!).RowBlock(0, _rows);
            inA = !inA;
            Gemm.Compute(Transpose.No, Transpose.No, scale, g, _net.Weight(i), 0f, next, compute);
            var a = Activation(i - 1);
            for (int r = 0; r < _rows; r++) ReluNetwork.MultiplyByDerivative(next.Row(r), a.Row(r));
            g = next;
        }
    }
}

/// <summary>One buffer per parameter of a network, shaped like its weights and biases.</summary>
internal sealed class NetworkGradients
{
    public NetworkGradients(ReluNetwork net)
    {
        Weights = Enumerable.Range(0, net.LayerCount).Select(i => new Matrix(net.Weight(i).Rows, net.Weight(i).Columns)).ToArray();
        Biases = Enumerable.Range(0, net.LayerCount).Select(i => net.Bias(i) is { } b ? new float[b.Length] : null).ToArray();
    }

    public Matrix[] Weights { get; }
    public float[]?[] Biases { get; }
}
