using UnsupervisedFinetuning.Formats;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// One backbone architecture of an <see cref="ArchitectureCatalog"/>: everything the rest of the product needs to know
/// about it by name — how to build it from a <see cref="BackboneDescription"/> and which descriptions it accepts, its
/// feature width, the input it expects unless told otherwise, and how a foreign checkpoint's keys map onto its
/// parameters. <see cref="PretrainedModel.Load"/> and <see cref="ModelCard.Read"/> look a model card's
/// <c>backbone.architecture</c> up in a catalog of these; <c>uft --arch</c> lists and reads the built-in ones.
/// </summary>
/// <remarks>
/// An entry is immutable. Add an architecture of your own with <see cref="Catalog{TEntry}.With"/> and give that catalog
/// to <see cref="PretrainedModel.Load"/>, <see cref="PretrainedModel.Save"/> and <see cref="PretrainedModel.Import"/>;
/// its backbone must override <see cref="Backbone.Describe"/> with a description naming <see cref="Architecture"/>.
/// A model card is read from a file: the entry's check (the constructor's <c>check</c>) is what stands between a forged
/// size in it and the allocator, so it should bound every size the builder uses. (The built-in entries also check the weights files'
/// tensors before building; an entry of your own is built first, then its files are checked against the network.)
/// </remarks>
/// <example><code>
/// var tiny = new ArchitectureEntry(
///     "TinyNet", "Two convolutions for 28 px images.",
///     defaultBackbone: new BackboneDescription("TinyNet", 1, 16),
///     defaultInput: InputDescription.Centered(28, 1),
///     build: d => new TinyNet(d.InputChannels, d.FeatureDimension),
///     check: d => d.FeatureDimension is &lt; 1 or &gt; 1024 ? $"backbone.featureDimension is {d.FeatureDimension}; expected 1 to 1024." : null);
/// using var model = PretrainedModel.Load("tiny.model.json", ArchitectureCatalog.BuiltIn.With(tiny));
/// </code></example>
public sealed class ArchitectureEntry : CatalogEntry
{
    private readonly Func<BackboneDescription, Backbone> _build;
    private readonly Func<BackboneDescription, int> _featureDimension;
    private readonly Func<BackboneDescription, string?>? _check;
    private readonly CheckpointKeyMap _keyMap;

    /// <summary>Describes an architecture.</summary>
    /// <param name="architecture">How descriptions and model cards spell it, e.g. "ResNet50"; <see cref="CatalogEntry.Name"/> is its lower-case form.</param>
    /// <param name="description">One sentence for help texts and error messages.</param>
    /// <param name="defaultBackbone">The configuration the bare name stands for (<c>uft --arch</c>), e.g. torchvision's ResNet-50 on RGB images.</param>
    /// <param name="defaultInput">The images <paramref name="defaultBackbone"/> expects: size and normalisation.</param>
    /// <param name="build">Builds a randomly initialised backbone of a description <see cref="Check"/> accepted, without a
    /// classifier (<see cref="Build"/> adds the one the description names).</param>
    /// <param name="featureDimension">The feature width a description gives; default: the description's own
    /// <see cref="BackboneDescription.FeatureDimension"/> (an architecture whose width is a free size).</param>
    /// <param name="check">What is wrong with a description for this architecture (naming the field, e.g.
    /// "backbone.featureDimension is 9; …"), or null when it builds; default: nothing beyond the feature width.</param>
    /// <param name="keyMap">How a foreign checkpoint's keys map onto the parameters (<see cref="PretrainedModel.Import"/>'s
    /// default); default: <see cref="CheckpointKeyMap"/>'s (torchvision, MoCo, SimCLR, BYOL, DDP prefixes).</param>
    /// <param name="aliases">Other names for it; may be null.</param>
    /// <exception cref="ArgumentException">A text is empty, or the default backbone is not of this architecture, is
    /// refused by <paramref name="check"/>, or does not take <paramref name="defaultInput"/>'s channels.</exception>
    public ArchitectureEntry(
        string architecture,
        string description,
        BackboneDescription defaultBackbone,
        InputDescription defaultInput,
        Func<BackboneDescription, Backbone> build,
        Func<BackboneDescription, int>? featureDimension = null,
        Func<BackboneDescription, string?>? check = null,
        CheckpointKeyMap? keyMap = null,
        IReadOnlyList<string>? aliases = null)
        : base(LowerCase(architecture), description, aliases)
    {
        ArgumentNullException.ThrowIfNull(defaultBackbone);
        ArgumentNullException.ThrowIfNull(defaultInput);
        ArgumentNullException.ThrowIfNull(build);
        Architecture = architecture;
        _build = build;
        _featureDimension = featureDimension ?? (d => d.FeatureDimension);
        _check = check;
        _keyMap = Copy(keyMap ?? new CheckpointKeyMap());
        if (Check(defaultBackbone) is { } problem)
        {
            throw new ArgumentException($"The default backbone of {architecture} is not one it builds: {problem}", nameof(defaultBackbone));
        }

        if (defaultInput.Mean.Count != defaultBackbone.InputChannels || defaultInput.Std.Count != defaultBackbone.InputChannels)
        {
            throw new ArgumentException($"The default input of {architecture} normalises {defaultInput.Mean.Count} channel(s) but its default backbone takes {defaultBackbone.InputChannels}.", nameof(defaultInput));
        }

        DefaultBackbone = defaultBackbone;
        DefaultInput = defaultInput;
    }

    /// <summary>
    /// How a <see cref="BackboneDescription.Architecture"/> and a model card's <c>backbone.architecture</c> spell it
    /// (e.g. "ResNet50", "SmallCnn"); looked up ignoring case.
    /// </summary>
    public string Architecture { get; }

    /// <summary>
    /// The configuration the bare name stands for: torchvision's (ImageNet stem, width 64) for the ResNets, 256 features
    /// for SmallCnn. Its <see cref="BackboneDescription.InputChannels"/> is the default channel count.
    /// </summary>
    public BackboneDescription DefaultBackbone { get; }

    /// <summary>The images <see cref="DefaultBackbone"/> expects: 224² RGB with ImageNet's normalisation for the ResNets, 28² grayscale centred for SmallCnn.</summary>
    public InputDescription DefaultInput { get; }

    /// <summary>
    /// A new copy of the key map <see cref="PretrainedModel.Import"/> uses for a checkpoint of this architecture unless
    /// told otherwise.
    /// </summary>
    public CheckpointKeyMap KeyMap => Copy(_keyMap);

    // The state dict a description gives, computed without building the network, so that a weights file is checked
    // before anything is allocated for it; null for an entry from outside the library (checked against the built network).
    internal Func<BackboneDescription, IReadOnlyList<TensorLayout>>? Layout { get; init; }

    /// <summary>The width of the pooled features a backbone of <paramref name="description"/> has.</summary>
    public int FeatureDimension(BackboneDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        return _featureDimension(description);
    }

    /// <summary>
    /// Null when this architecture builds <paramref name="description"/>; otherwise what is wrong, naming the model
    /// card's field (e.g. "backbone.featureDimension is 100 but a ResNet18 of width 64 has 512.").
    /// </summary>
    public string? Check(BackboneDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (!IsNamed(description.Architecture))
        {
            return $"backbone.architecture is '{IO.ExceptionText.Printable(description.Architecture ?? "(absent)")}', not {Architecture}.";
        }

        if (_check?.Invoke(description) is { } problem)
        {
            return problem;
        }

        int features = _featureDimension(description);
        return features != description.FeatureDimension
            ? $"backbone.featureDimension is {description.FeatureDimension} but a {Architecture} has {features}."
            : null;
    }

    /// <summary>
    /// A randomly initialised backbone of <paramref name="description"/>, with the classifier it names
    /// (<see cref="Backbone.ReplaceClassifier"/>), on the CPU.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="Check"/> refuses the description.</exception>
    /// <exception cref="InvalidOperationException">The builder returned a network of other channels or features than described.</exception>
    public Backbone Build(BackboneDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (Check(description) is { } problem)
        {
            throw new ArgumentException(problem, nameof(description));
        }

        var backbone = _build(description) ?? throw new InvalidOperationException($"The builder of {Architecture} returned null.");
        try
        {
            if (backbone.InputChannels != description.InputChannels || backbone.FeatureDimension != description.FeatureDimension)
            {
                throw new InvalidOperationException($"The builder of {Architecture} returned a {backbone.GetType().Name} of {backbone.InputChannels} input channel(s) and {backbone.FeatureDimension} features for a description of {description.InputChannels} and {description.FeatureDimension}.");
            }

            if (description.Classes is { } classes)
            {
                backbone.ReplaceClassifier(classes);
            }

            return backbone;
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <see cref="DefaultBackbone"/> for images of <paramref name="channels"/> channels (the feature width recomputed).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is not positive.</exception>
    public BackboneDescription DefaultBackboneFor(int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        var backbone = DefaultBackbone with { InputChannels = channels };
        return backbone with { FeatureDimension = _featureDimension(backbone) };
    }

    /// <summary>
    /// The input of <paramref name="size"/>² pixels and <paramref name="channels"/> channels: <see cref="DefaultInput"/>'s
    /// normalisation when the channel count is the default's, otherwise 0.5 / 0.5 per channel
    /// (<see cref="InputDescription.Centered"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public InputDescription DefaultInputFor(int size, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        return channels == DefaultBackbone.InputChannels
            ? new InputDescription(size, size, DefaultInput.Mean, DefaultInput.Std)
            : InputDescription.Centered(size, channels);
    }

    // The description's architecture is this entry's: its spelling, name or an alias, ignoring case.
    internal bool IsNamed(string? architecture) =>
        architecture is not null
        && (string.Equals(architecture, Name, StringComparison.OrdinalIgnoreCase) || Aliases.Contains(architecture, StringComparer.OrdinalIgnoreCase));

    private static CheckpointKeyMap Copy(CheckpointKeyMap map) => map.Clone();

    // The name is the architecture's spelling in lower case ("ResNet50" → "resnet50"); an empty one is refused by name.
    private static string LowerCase(string architecture)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        return architecture.ToLowerInvariant();
    }
}
