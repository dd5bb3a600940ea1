using UnsupervisedFinetuning.Augment;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>What a backbone is: enough to build the same architecture again.</summary>
/// <param name="Architecture">"SmallCnn", "ResNet18", "ResNet34", "ResNet50" (<see cref="ArchitectureCatalog.BuiltIn"/>) or the <see cref="ArchitectureEntry.Architecture"/> of an entry of your own.</param>
/// <param name="InputChannels">Channels of the images it takes.</param>
/// <param name="FeatureDimension">Width of its pooled feature vector.</param>
public sealed record BackboneDescription(string Architecture, int InputChannels, int FeatureDimension)
{
    /// <summary>The ResNet stem; null for other architectures.</summary>
    public ResNetStem? Stem { get; init; }

    /// <summary>The ResNet base width (64 for torchvision's); null for other architectures.</summary>
    public int? Width { get; init; }

    /// <summary>Classes of the backbone's classifier (<see cref="Backbone.ReplaceClassifier"/>); null when it has none.</summary>
    public int? Classes { get; init; }
}

/// <summary>
/// The images a backbone expects: their size and the per-channel normalisation applied after scaling the
/// pixels to [0, 1] — the evaluation transform of the model, and the normalisation its training used.
/// </summary>
/// <param name="Height">Input height in pixels.</param>
/// <param name="Width">Input width in pixels.</param>
/// <param name="Mean">Per-channel mean subtracted after scaling to [0, 1].</param>
/// <param name="Std">Per-channel standard deviation divided by after that.</param>
public sealed record InputDescription(int Height, int Width, IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>RGB images of <paramref name="size"/>² pixels with ImageNet's mean and standard deviation (torchvision's and MoCo's).</summary>
    public static InputDescription ImageNet(int size) => new(size, size, Normalize.ImageNetMean, Normalize.ImageNetStd);

    /// <summary>Images of <paramref name="size"/>² pixels and <paramref name="channels"/> channels normalised with 0.5 / 0.5 (the small-image preset's default).</summary>
    public static InputDescription Centered(int size, int channels) =>
        new(size, size, Enumerable.Repeat(0.5f, channels).ToArray(), Enumerable.Repeat(0.5f, channels).ToArray());

    /// <summary>
    /// Equal when the sizes and every mean and standard deviation are equal: two models take the same input even
    /// when their descriptions hold different list instances (a record would compare the lists by reference).
    /// </summary>
    public bool Equals(InputDescription? other) =>
        other is not null && Height == other.Height && Width == other.Width && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Height);
        hash.Add(Width);
        foreach (float value in Mean.Concat(Std))
        {
            hash.Add(value);
        }

        return hash.ToHashCode();
    }
}

/// <summary>What a projection head is (<see cref="ProjectionHead"/>'s constructor arguments).</summary>
/// <param name="Input">Input width (the backbone's features).</param>
/// <param name="Hidden">Hidden width.</param>
/// <param name="Output">Output (embedding) width.</param>
/// <param name="BatchNorm">BatchNorm after each hidden layer.</param>
/// <param name="HiddenLayers">Number of hidden layers.</param>
/// <param name="OutputBatchNorm">A BatchNorm without affine parameters at the end.</param>
public sealed record HeadDescription(int Input, int Hidden, int Output, bool BatchNorm, int HiddenLayers = 1, bool OutputBatchNorm = false);

/// <summary>
/// A saved model's self-description, what its model card holds (the <c>*.model.json</c> file <see cref="ModelCard"/>
/// reads and writes, and <see cref="PretrainedModel"/> saves and loads): the backbone's architecture, the input it
/// expects, the projection head if one was saved, where it came from, and the weights files beside it with their hashes.
/// </summary>
public sealed record ModelDescription
{
    /// <summary>The backbone's architecture.</summary>
    public required BackboneDescription Backbone { get; init; }

    /// <summary>The images the backbone expects.</summary>
    public required InputDescription Input { get; init; }

    /// <summary>The projection head saved with the backbone, or null.</summary>
    public HeadDescription? Head { get; init; }

    /// <summary>Where the model came from: data, method, command, date — free text by name.</summary>
    public IReadOnlyDictionary<string, string> Provenance { get; init; } = new Dictionary<string, string>();

    /// <summary>The backbone's weights file, relative to the description's folder.</summary>
    public required string BackboneFile { get; init; }

    /// <summary>The head's weights file, relative to the description's folder; null without a head.</summary>
    public string? HeadFile { get; init; }

    /// <summary>The SHA-256 of the backbone's weights file (lower-case hexadecimal) that the card records; null when it records none (an imported checkpoint).</summary>
    public string? BackboneSha256 { get; init; }

    /// <summary>The SHA-256 of the head's weights file that the card records; null without a head or a recorded hash.</summary>
    public string? HeadSha256 { get; init; }
}
