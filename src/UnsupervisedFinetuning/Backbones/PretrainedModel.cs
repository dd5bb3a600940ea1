using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Formats;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// A self-describing saved model, loaded: a backbone (and optionally its projection head) rebuilt from the model card
/// (<see cref="ModelCard"/>, a <c>*.model.json</c> beside the weights) in one call without knowing its class, with the
/// input it expects and the preprocessing that goes with it.
/// </summary>
/// <remarks>
/// Files: <c>name.model.json</c> (the card), <c>name.backbone.dat</c> and <c>name.head.dat</c> (weights in
/// TorchSharp's format, <see cref="Checkpoint.Save"/>). Weights are written first and the card last, each
/// atomically; a card always names files whose hashes it records, so a save interrupted half-way is found
/// by <see cref="Load"/> instead of loading mismatched weights. The architecture a card names is looked up in an
/// <see cref="ArchitectureCatalog"/>: <see cref="ArchitectureCatalog.BuiltIn"/> unless you give one with your own.
/// </remarks>
public sealed class PretrainedModel : IDisposable
{
    /// <summary>The format this library writes and reads in the card's <c>format</c> field (<see cref="ModelCard.Format"/>).</summary>
    public const string Format = ModelCard.Format;

    private PretrainedModel(Backbone backbone, ProjectionHead? head, ModelDescription description, CheckpointLoadReport? importReport = null)
    {
        ImportReport = importReport;
        Backbone = backbone;
        Head = head;
        Description = description;
        Normalization = new Normalize(description.Input.Mean, description.Input.Std);
    }

    /// <summary>The backbone, with the saved weights. Owned by this object (disposed with it).</summary>
    public Backbone Backbone { get; }

    /// <summary>The projection head saved with it, or null. Owned by this object.</summary>
    public ProjectionHead? Head { get; }

    /// <summary>The model's description.</summary>
    public ModelDescription Description { get; }

    /// <summary>What <see cref="Import"/> loaded (renamed, dropped, missing keys); null for a model read by <see cref="Load"/>.</summary>
    public CheckpointLoadReport? ImportReport { get; }

    private Normalize Normalization { get; }

    /// <summary>
    /// The model's evaluation transform: uint8 images [N, C, H, W] → float, scaled to [0, 1], resized to the input
    /// size when they differ (bilinear, whole image), normalised. Pass it to <c>TransferEvaluator</c> or
    /// <c>FeatureExtractor</c>.
    /// </summary>
    public Tensor Preprocess(Tensor images) =>
        TwoViewAugmentation.EvaluationTransform(images, Description.Input.Height, Description.Input.Width, Normalization);

    /// <summary>How to read image folders for this model: its input size and colour mode, centre-cropped.</summary>
    public ImageFolderOptions ImageFolderOptions() => new()
    {
        Height = Description.Input.Height,
        Width = Description.Input.Width,
        Color = Description.Backbone.InputChannels == 1 ? ImageColorMode.Grayscale : ImageColorMode.Rgb,
    };

    /// <summary>
    /// The engine's augmentation for finetuning this model: views of the input size, normalised as the model
    /// expects (set it as <c>FinetuneOptions.Augmentation</c>); the recipe stays automatic.
    /// </summary>
    public AugmentationOptions AugmentationOptions() => new()
    {
        ImageSize = Math.Min(Description.Input.Height, Description.Input.Width),
        NormalizationMean = [.. Description.Input.Mean],
        NormalizationStd = [.. Description.Input.Std],
    };

    /// <summary>
    /// Saves <paramref name="backbone"/> (and <paramref name="head"/>) with a model card: weights beside
    /// <paramref name="path"/> as <c>name.backbone.dat</c> / <c>name.head.dat</c>, then the card at
    /// <paramref name="path"/> (<c>name.model.json</c> by convention).
    /// </summary>
    /// <param name="path">The card to write (ends in <c>.json</c>).</param>
    /// <param name="backbone">A backbone that can describe itself (<see cref="Backbone.Describe"/>: <see cref="SmallCnn"/>, <see cref="ResNet"/>, or one of your own).</param>
    /// <param name="input">The images it expects.</param>
    /// <param name="head">A projection head to save with it.</param>
    /// <param name="provenance">Where it came from, free text by name.</param>
    /// <param name="architectures">The architectures <see cref="Load"/> will know (default <see cref="ArchitectureCatalog.BuiltIn"/>): the backbone's must be one.</param>
    /// <exception cref="ArgumentException">The path does not end in <c>.json</c>, the backbone cannot describe itself or is not of a catalogued architecture, or the input description does not fit it.</exception>
    /// <exception cref="IOException">A file could not be written; a card that was there is unchanged.</exception>
    public static void Save(string path, Backbone backbone, InputDescription input, ProjectionHead? head = null, IReadOnlyDictionary<string, string>? provenance = null, Catalog<ArchitectureEntry>? architectures = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(input);
        ModelCard.CheckPath(path);
        var architecture = backbone.Describe()
            ?? throw new ArgumentException($"{backbone.GetType().Name} cannot describe itself (Backbone.Describe returns null); save its weights with Checkpoint.Save and build it yourself.", nameof(backbone));
        if (ModelCard.CheckBackbone(architecture, architectures ?? ArchitectureCatalog.BuiltIn) is { } unsized)
        {
            throw new ArgumentException($"The backbone cannot be saved with a description that Load would accept: {unsized}", nameof(backbone));
        }

        var headDescription = head is null ? null : new HeadDescription(head.InputDimension, head.HiddenDimension, head.OutputDimension, head.BatchNorm, head.HiddenLayers, head.OutputBatchNorm);
        string? problem = ModelCard.CheckInput(input, architecture.InputChannels) ?? CheckHead(headDescription, architecture);
        if (problem is not null)
        {
            throw new ArgumentException(problem, problem.StartsWith("the head", StringComparison.Ordinal) || problem.StartsWith("head.", StringComparison.Ordinal) ? nameof(head) : nameof(input));
        }

        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        string stem = BaseName(full);
        string backboneFile = stem + ".backbone.dat";
        string? headFile = head is null ? null : stem + ".head.dat";
        Checkpoint.Save(backbone, Path.Combine(folder, backboneFile));
        if (head is not null)
        {
            Checkpoint.Save(head, Path.Combine(folder, headFile!));
        }

        var description = new ModelDescription
        {
            Backbone = architecture,
            Input = input,
            Head = headDescription,
            Provenance = provenance ?? new Dictionary<string, string>(),
            BackboneFile = backboneFile,
            HeadFile = headFile,
            BackboneSha256 = ModelCard.Sha256(Path.Combine(folder, backboneFile)),
            HeadSha256 = headFile is null ? null : ModelCard.Sha256(Path.Combine(folder, headFile)),
        };
        ModelCard.WriteChecked(full, description, writeProvenance: provenance is not null);
    }

    /// <summary>
    /// Reads a model card written by <see cref="Save"/> (or by hand in the same format, <see cref="ModelCard"/>) and
    /// rebuilds the model: the architecture it names, looked up in <paramref name="architectures"/>, the weights
    /// (checked against their recorded SHA-256, loaded strictly by name), and the head if one is described.
    /// </summary>
    /// <remarks>
    /// The card is checked before anything is built from it (<see cref="ModelCard"/> lists the ranges), so that a few
    /// edited bytes cannot make it allocate without bound. Then each weights file must hold at least the bytes of the
    /// described network's float32 state dict (parameters and batch-norm buffers, as <see cref="Checkpoint.Save"/>
    /// writes them), and a file in TorchSharp's format exactly its tensors by name, dtype and shape: the memory a
    /// load allocates is bounded by the size of the weights files the card names. (An architecture of your own is
    /// built from the checked card first, and its weights file then compared with the network.)
    /// </remarks>
    /// <param name="path">The card (<c>name.model.json</c>).</param>
    /// <param name="architectures">Where the card's architecture is looked up (default <see cref="ArchitectureCatalog.BuiltIn"/>);
    /// <c>ArchitectureCatalog.BuiltIn.With(entry)</c> loads a model of your own architecture.</param>
    /// <exception cref="FileNotFoundException">The card or a weights file it names does not exist.</exception>
    /// <exception cref="InvalidDataException">The card is malformed or a size is out of range (the field is
    /// named), names an architecture the catalog does not have, or a weights file does not match its hash or the architecture.</exception>
    public static PretrainedModel Load(string path, Catalog<ArchitectureEntry>? architectures = null)
    {
        architectures ??= ArchitectureCatalog.BuiltIn;
        var description = ModelCard.Read(path, architectures);
        var entry = architectures.Get(description.Backbone.Architecture);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string backboneFile = Path.Combine(folder, description.BackboneFile);
        string? headFile = description.HeadFile is null ? null : Path.Combine(folder, description.HeadFile);
        string what = $"{description.Backbone.Architecture} backbone";

        // Every weights file is checked against the network the card describes before any of it is built (an
        // architecture from outside the library: before its weights are loaded).
        if (entry.Layout is { } layout)
        {
            CheckWeights(backboneFile, layout(description.Backbone), what, description.BackboneSha256, path);
        }

        if (description.Head is { } described)
        {
            CheckWeights(headFile!, WeightsLayout.Of(described), "head", description.HeadSha256, path);
        }

        Backbone? backbone = null;
        ProjectionHead? head = null;
        try
        {
            backbone = Build(entry, description.Backbone, path);
            if (entry.Layout is null)
            {
                CheckWeights(backboneFile, WeightsLayout.Of(backbone), what, description.BackboneSha256, path, built: true);
            }

            LoadWeights(backbone, backboneFile, path);
            if (description.Head is { } h)
            {
                head = new ProjectionHead(h.Input, h.Hidden, h.Output, h.BatchNorm, h.HiddenLayers, h.OutputBatchNorm);
                LoadWeights(head, headFile!, path);
            }

            return new PretrainedModel(backbone, head, description);
        }
        catch
        {
            backbone?.Dispose();
            head?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Imports a checkpoint that does not describe itself — a PyTorch <c>.pth</c>/<c>.pth.tar</c> (MoCo, DDP
    /// <c>module.</c> prefixes), a safetensors file, or weights in TorchSharp's format — as a model: builds
    /// <paramref name="architecture"/>, loads the weights by name with <see cref="Checkpoint.Load"/> (strict: every
    /// backbone parameter must be found; a classifier or head in the file is dropped and reported), and describes
    /// it with <paramref name="input"/>. <see cref="PretrainedModel.Save"/> then writes it as a self-describing model.
    /// </summary>
    /// <param name="checkpoint">The weights file.</param>
    /// <param name="architecture">The backbone the weights belong to, e.g. <c>new BackboneDescription("ResNet50", 3, 2048)</c>
    /// or <c>ArchitectureCatalog.BuiltIn.Get("resnet50").DefaultBackbone</c>.</param>
    /// <param name="input">The images it expects, e.g. <see cref="InputDescription.ImageNet"/>(224).</param>
    /// <param name="keyMap">How to rename the file's keys; default: the architecture's (<see cref="ArchitectureEntry.KeyMap"/>),
    /// which for the built-in ones recognises MoCo, DDP and torchvision layouts.</param>
    /// <param name="architectures">Where the architecture is looked up (default <see cref="ArchitectureCatalog.BuiltIn"/>).</param>
    /// <exception cref="FileNotFoundException">The checkpoint does not exist.</exception>
    /// <exception cref="InvalidDataException">The architecture cannot be built (not in the catalog, or a size out of
    /// <see cref="ModelCard"/>'s ranges), or the file is not a readable checkpoint.</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not fit the architecture (the keys are named).</exception>
    /// <exception cref="ArgumentException">The input description does not fit the architecture.</exception>
    public static PretrainedModel Import(string checkpoint, BackboneDescription architecture, InputDescription input, CheckpointKeyMap? keyMap = null, Catalog<ArchitectureEntry>? architectures = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpoint);
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(input);
        architectures ??= ArchitectureCatalog.BuiltIn;
        if (ModelCard.CheckInput(input, architecture.InputChannels) is { } problem)
        {
            throw new ArgumentException(problem, nameof(input));
        }

        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"Checkpoint not found: {checkpoint}", checkpoint);
        }

        if (ModelCard.CheckBackbone(architecture, architectures) is { } unbuildable)
        {
            throw new InvalidDataException($"{checkpoint}: {unbuildable}");
        }

        var entry = architectures.Get(architecture.Architecture);
        var backbone = Build(entry, architecture, checkpoint);
        try
        {
            var report = Checkpoint.Load(backbone, checkpoint, strict: true, keyMap ?? entry.KeyMap);
            var description = new ModelDescription
            {
                Backbone = backbone.Describe() ?? architecture,
                Input = input,
                BackboneFile = Path.GetFileName(checkpoint),
                Provenance = new Dictionary<string, string> { ["importedFrom"] = Path.GetFullPath(checkpoint) },
            };
            return new PretrainedModel(backbone, null, description, report);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    /// <summary>Disposes the backbone and the head.</summary>
    public void Dispose()
    {
        Backbone.Dispose();
        Head?.Dispose();
    }

    // The file exists, holds at least the bytes of the described network's tensors and, in TorchSharp's format, exactly
    // its tensors (only names and headers are read), and matches its recorded hash. `built`: the network exists already
    // (an architecture from outside the library), so the file is refused before loading it rather than before building.
    private static void CheckWeights(string file, IReadOnlyList<TensorLayout> layout, string what, string? sha256, string descriptionPath, bool built = false)
    {
        string refused = built ? "refused before loading it" : "refused before building it";
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"{descriptionPath}: names the weights file {file}, which does not exist.", file);
        }

        using (var stream = File.OpenRead(file))
        {
            long needed = WeightsLayout.Bytes(layout);
            if (stream.Length < needed)
            {
                throw new InvalidDataException($"{file}: does not fit the model {descriptionPath} describes: it holds {stream.Length} bytes, but the described {what}'s {layout.Count} tensors take {needed} bytes; {refused}.");
            }

            if (CheckpointFile.Detect(stream) == CheckpointFormat.TorchSharp)
            {
                try
                {
                    using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                    TorchSharpFormat.CheckSection(reader, file, layout.ToDictionary(t => t.Name, t => (t.Type, t.Shape), StringComparer.Ordinal), "the file");
                }
                catch (Exception e) when (TorchSharpFormat.IsReadFailure(e))
                {
                    throw new InvalidDataException($"{file}: does not fit the model {descriptionPath} describes ({ExceptionText.Detail(e, file)}); {refused}.", e);
                }
            }
        }

        if (sha256 is not null && !string.Equals(ModelCard.Sha256(file), sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{file}: does not match the SHA-256 that {descriptionPath} records; the weights were changed, or come from another save than the description.");
        }
    }

    private static void LoadWeights(nn.Module module, string file, string descriptionPath)
    {
        // The card's own files carry this library's names exactly: no prefix stripped, nothing dropped.
        try
        {
            Checkpoint.Load(module, file, strict: true, keyMap: new CheckpointKeyMap { StripPrefixes = [], DropPrefixes = [], KeepClassifier = true });
        }
        catch (CheckpointMismatchException e)
        {
            throw new InvalidDataException($"{file}: does not fit the model {descriptionPath} describes ({e.Report}).", e);
        }
    }

    // Builds a description ModelCard.CheckBackbone accepted (Load, Import); an entry that still refuses it, or builds
    // another network than described, is reported against the file.
    private static Backbone Build(ArchitectureEntry entry, BackboneDescription d, string path)
    {
        try
        {
            return entry.Build(d);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    // Null when the head (if any) fits the backbone and its sizes lie in the card's ranges.
    private static string? CheckHead(HeadDescription? head, BackboneDescription backbone) =>
        head is null ? null
            : head.Input != backbone.FeatureDimension ? $"the head takes {head.Input} inputs but the backbone gives {backbone.FeatureDimension} features."
            : ModelCard.CheckHead(head, backbone.FeatureDimension);

    // "name.model.json" → "name"; "name.json" → "name".
    private static string BaseName(string full)
    {
        string name = Path.GetFileNameWithoutExtension(full);
        return name.EndsWith(".model", StringComparison.OrdinalIgnoreCase) ? name[..^".model".Length] : name;
    }
}
