using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// A multi-layer perceptron head on backbone features: <c>Linear → [BatchNorm1d] → ReLU → … → Linear
/// [→ BatchNorm1d without affine parameters]</c>. Layers are named <c>0</c>, <c>1</c>, … in order (as a
/// PyTorch <c>nn.Sequential</c>), so MoCo's <c>fc.0</c>/<c>fc.2</c> head weights load into
/// <see cref="MocoV2"/> with a prefix map.
/// Shapes: features [B, InputDimension] → embeddings [B, OutputDimension].
/// </summary>
public sealed class ProjectionHead : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>[] _layers;

    /// <summary>Creates a head with <paramref name="hiddenLayers"/> hidden layers of width <paramref name="hiddenDimension"/>.</summary>
    /// <param name="inputDimension">Width of the features it takes.</param>
    /// <param name="hiddenDimension">Width of the hidden layers.</param>
    /// <param name="outputDimension">Width of the embeddings it returns.</param>
    /// <param name="batchNorm">Batch-normalise the hidden layers (BYOL, SimSiam) instead of giving them biases (MoCo v2, SimCLR).</param>
    /// <param name="hiddenLayers">Number of hidden layers (SimSiam's projector has 2).</param>
    /// <param name="outputBatchNorm">End with a BatchNorm1d without affine parameters, the last Linear then has no bias (SimSiam's projector).</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive, or hiddenLayers is negative.</exception>
    public ProjectionHead(int inputDimension, int hiddenDimension, int outputDimension, bool batchNorm, int hiddenLayers = 1, bool outputBatchNorm = false)
        : base(nameof(ProjectionHead))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputDimension);
        ArgumentOutOfRangeException.ThrowIfNegative(hiddenLayers);
        InputDimension = inputDimension;
        HiddenDimension = hiddenDimension;
        OutputDimension = outputDimension;
        BatchNorm = batchNorm;
        HiddenLayers = hiddenLayers;
        OutputBatchNorm = outputBatchNorm;
        var modules = new List<nn.Module<Tensor, Tensor>>();
        int width = inputDimension;
        for (int h = 0; h < hiddenLayers; h++)
        {
            modules.Add(nn.Linear(width, hiddenDimension, hasBias: !batchNorm));
            if (batchNorm)
            {
                modules.Add(nn.BatchNorm1d(hiddenDimension));
            }

            modules.Add(nn.ReLU(inplace: true));
            width = hiddenDimension;
        }

        modules.Add(nn.Linear(width, outputDimension, hasBias: !outputBatchNorm));
        if (outputBatchNorm)
        {
            modules.Add(nn.BatchNorm1d(outputDimension, affine: false));
        }

        _layers = [.. modules];
        for (int i = 0; i < _layers.Length; i++)
        {
            register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), _layers[i]);
        }
    }

    /// <summary>Width of the features it takes.</summary>
    public int InputDimension { get; }

    /// <summary>Width of the hidden layers.</summary>
    public int HiddenDimension { get; }

    /// <summary>Width of the embeddings it returns.</summary>
    public int OutputDimension { get; }

    /// <summary>Whether hidden layers are batch-normalised (BYOL) or biased (MoCo v2, SimCLR).</summary>
    public bool BatchNorm { get; }

    /// <summary>Number of hidden layers.</summary>
    public int HiddenLayers { get; }

    /// <summary>Whether the head ends with a BatchNorm1d without affine parameters.</summary>
    public bool OutputBatchNorm { get; }

    /// <summary>A new, randomly initialised head of the same shape, on the CPU.</summary>
    public ProjectionHead CloneArchitecture() => new(InputDimension, HiddenDimension, OutputDimension, BatchNorm, HiddenLayers, OutputBatchNorm);

    /// <summary>
    /// Re-draws every weight from <paramref name="generator"/> with PyTorch's default initialisation of
    /// <c>nn.Linear</c> (weights and biases uniform in ±1/√fan_in) and resets batch norms (γ = 1, β = 0,
    /// running mean 0, variance 1), so a new head depends on the run's seed and on nothing else in the process.
    /// </summary>
    public void ResetParameters(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        using var noGrad = no_grad();
        foreach (var layer in _layers)
        {
            switch (layer)
            {
                case TorchSharp.Modules.Linear linear:
                    // Tensor.uniform_, not nn.init.uniform_: TorchSharp 0.107's init function ignores its generator.
                    double bound = 1 / Math.Sqrt(linear.in_features);
                    linear.weight.uniform_(-bound, bound, generator);
                    linear.bias?.uniform_(-bound, bound, generator);

                    break;
                case TorchSharp.Modules.BatchNorm1d norm:
                    norm.reset_parameters();
                    break;
            }
        }
    }

    /// <summary>MoCo v2 / SimCLR: Linear(D, D) → ReLU → Linear(D, out), out = 128 by default.</summary>
    public static ProjectionHead MocoV2(int featureDimension, int outputDimension = 128) =>
        new(featureDimension, featureDimension, outputDimension, batchNorm: false);

    /// <summary>BYOL projector / predictor: Linear(in, hidden) → BatchNorm1d → ReLU → Linear(hidden, out) (paper: 4096 → 256).</summary>
    public static ProjectionHead Byol(int inputDimension, int hiddenDimension = 4096, int outputDimension = 256) =>
        new(inputDimension, hiddenDimension, outputDimension, batchNorm: true);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        // In a mixed-precision region the linear layers compute in its dtype; the embedding leaves in float32,
        // because every loss (normalisation, softmax, log-sum-exp) is computed in float32.
        var x = input;
        foreach (var layer in _layers)
        {
            x = Autocast.Forward(layer, x);
        }

        return Autocast.Float32(x);
    }
}
