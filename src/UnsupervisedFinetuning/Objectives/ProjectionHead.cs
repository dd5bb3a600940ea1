using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>
/// A multi-layer perceptron head on backbone features: <c>Linear → [BatchNorm1d] → ReLU → … → Linear</c>.
/// Layers are named <c>0</c>, <c>1</c>, … in order (as a PyTorch <c>nn.Sequential</c>), so MoCo's
/// <c>fc.0</c>/<c>fc.2</c> head weights load into <see cref="MocoV2"/> with a prefix map.
/// Shapes: features [B, InputDimension] → embeddings [B, OutputDimension].
/// </summary>
public sealed class ProjectionHead : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>[] _layers;

    /// <summary>Creates a head with <paramref name="hiddenLayers"/> hidden layers of width <paramref name="hiddenDimension"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive, or hiddenLayers is negative.</exception>
    public ProjectionHead(int inputDimension, int hiddenDimension, int outputDimension, bool batchNorm, int hiddenLayers = 1)
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

        modules.Add(nn.Linear(width, outputDimension));
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

    /// <summary>A new, randomly initialised head of the same shape, on the CPU.</summary>
    public ProjectionHead CloneArchitecture() => new(InputDimension, HiddenDimension, OutputDimension, BatchNorm, HiddenLayers);

    /// <summary>MoCo v2 / SimCLR: Linear(D, D) → ReLU → Linear(D, out), out = 128 by default.</summary>
    public static ProjectionHead MocoV2(int featureDimension, int outputDimension = 128) =>
        new(featureDimension, featureDimension, outputDimension, batchNorm: false);

    /// <summary>BYOL projector / predictor: Linear(in, hidden) → BatchNorm1d → ReLU → Linear(hidden, out) (paper: 4096 → 256).</summary>
    public static ProjectionHead Byol(int inputDimension, int hiddenDimension = 4096, int outputDimension = 256) =>
        new(inputDimension, hiddenDimension, outputDimension, batchNorm: true);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers)
        {
            x = layer.call(x);
        }

        return x;
    }
}
