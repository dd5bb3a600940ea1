using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;
using UnsupervisedFinetuning.Formats;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// A self-describing saved model: a backbone (and optionally its projection head) with a <c>*.model.json</c>
/// description beside the weights, so that one call rebuilds it without knowing its class — like timm's
/// <c>pretrained_cfg</c> or a Hugging Face <c>config.json</c>. The description names the architecture and its
/// sizes, the input size and normalisation, the head, free-text provenance, and a SHA-256 of each weights file.
/// </summary>
/// <remarks>
/// Files: <c>name.model.json</c> (the description), <c>name.backbone.dat</c> and <c>name.head.dat</c> (weights in
/// TorchSharp's format, <see cref="Checkpoint.Save"/>). Weights are written first and the description last, each
/// atomically; a description always names files whose hashes it records, so a save interrupted half-way is found
/// by <see cref="Load"/> instead of loading mismatched weights.
/// </remarks>
public sealed class PretrainedModel : IDisposable
{
    /// <summary>The format this library writes and reads in the description's <c>format</c> field.</summary>
    public const string Format = "UnsupervisedFinetuning.Model/1";

    // A description is a few hundred bytes; anything far larger is not one.
    private const long MaxDescriptionBytes = 1 << 20;

    // Bounds on a description's sizes, checked before anything is built or sized from them (a forged size must not
    // reach the native allocator, nor overflow the arithmetic that sizes the network). Generous for real models:
    private const int MaxInputChannels = 64; // images have 1 or 3 channels, multispectral ones a dozen or so
    private const int MaxSmallCnnFeatures = 4096; // 99 million parameters (396 MB), four ResNet-50s: no longer small
    private const int MaxResNetWidth = 1024; // 16 × torchvision's 64: a ResNet-50 of 6 billion parameters (24 GB)
    private const int MaxClasses = 1_000_000; // 46 × ImageNet-21k's 21,841 classes
    private const int MaxHeadWidth = 65_536; // 16 × BYOL's 4096-wide projector
    private const int MaxHiddenLayers = 64; // published heads have 1 to 3

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

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
    /// Saves <paramref name="backbone"/> (and <paramref name="head"/>) with a description: weights beside
    /// <paramref name="path"/> as <c>name.backbone.dat</c> / <c>name.head.dat</c>, then the description at
    /// <paramref name="path"/> (<c>name.model.json</c> by convention).
    /// </summary>
    /// <param name="path">The description file to write (ends in <c>.json</c>).</param>
    /// <param name="backbone">A backbone that can describe itself (<see cref="Backbone.Describe"/>: <see cref="SmallCnn"/>, <see cref="ResNet"/>).</param>
    /// <param name="input">The images it expects.</param>
    /// <param name="head">A projection head to save with it.</param>
    /// <param name="provenance">Where it came from, free text by name.</param>
    /// <exception cref="ArgumentException">The path does not end in <c>.json</c>, the backbone cannot describe itself, or the input description does not fit it.</exception>
    /// <exception cref="IOException">A file could not be written; a description that was there is unchanged.</exception>
    public static void Save(string path, Backbone backbone, InputDescription input, ProjectionHead? head = null, IReadOnlyDictionary<string, string>? provenance = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(input);
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"A model description is a .json file (e.g. name.model.json); got {path}.", nameof(path));
        }

        var architecture = backbone.Describe()
            ?? throw new ArgumentException($"{backbone.GetType().Name} cannot describe itself (Backbone.Describe returns null); save its weights with Checkpoint.Save and build it yourself.", nameof(backbone));
        if (CheckArchitecture(architecture) is { } unsized)
        {
            throw new ArgumentException($"The backbone cannot be saved with a description that Load would accept: {unsized}", nameof(backbone));
        }

        string? problem = CheckInput(input, architecture.InputChannels) ?? CheckHead(head, architecture);
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

        var card = new Card
        {
            Format = Format,
            Backbone = new BackboneCard
            {
                Architecture = architecture.Architecture,
                InputChannels = architecture.InputChannels,
                FeatureDimension = architecture.FeatureDimension,
                Stem = architecture.Stem,
                Width = architecture.Width,
                Classes = architecture.Classes,
                File = backboneFile,
                Sha256 = Sha256(Path.Combine(folder, backboneFile)),
            },
            Input = new InputCard { Height = input.Height, Width = input.Width, Mean = [.. input.Mean], Std = [.. input.Std] },
            Head = head is null ? null : new HeadCard
            {
                Input = head.InputDimension,
                Hidden = head.HiddenDimension,
                Output = head.OutputDimension,
                BatchNorm = head.BatchNorm,
                HiddenLayers = head.HiddenLayers,
                OutputBatchNorm = head.OutputBatchNorm,
                File = headFile,
                Sha256 = Sha256(Path.Combine(folder, headFile!)),
            },
            Provenance = provenance is null ? null : new SortedDictionary<string, string>(provenance.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
        };
        AtomicFile.WriteAllText(full, JsonSerializer.Serialize(card, Json) + "\n");
    }

    /// <summary>
    /// Reads a description written by <see cref="Save"/> (or by hand in the same format) and rebuilds the model:
    /// the architecture it names, the weights (checked against their recorded SHA-256, loaded strictly by name),
    /// and the head if one is described.
    /// </summary>
    /// <remarks>
    /// A description is checked before anything is built from it, so that a few edited bytes cannot make it
    /// allocate without bound. Its sizes must lie in these ranges: <c>backbone.inputChannels</c> 1–64; a SmallCnn's
    /// <c>featureDimension</c> a multiple of 8 from 8 to 4096, a ResNet's the one its <c>width</c> (1–1024) gives;
    /// <c>backbone.classes</c> 1–1,000,000; the head's <c>input</c> equal to the backbone's features, <c>hidden</c>
    /// and <c>output</c> 1–65,536, <c>hiddenLayers</c> 0–64. Then each weights file must hold at least the bytes of the
    /// described network's float32 state dict (parameters and batch-norm buffers, as <see cref="Checkpoint.Save"/>
    /// writes them), and a file in TorchSharp's format exactly its tensors by name, dtype and shape: the memory a
    /// load allocates is bounded by the size of the weights files the description names.
    /// </remarks>
    /// <exception cref="FileNotFoundException">The description or a weights file it names does not exist.</exception>
    /// <exception cref="InvalidDataException">The description is malformed or a size is out of range (the field is
    /// named), names an unknown architecture, or a weights file does not match its hash or the architecture.</exception>
    public static PretrainedModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model description not found: {path}", path);
        }

        long length = new FileInfo(path).Length;
        if (length > MaxDescriptionBytes)
        {
            throw new InvalidDataException($"{path}: {length} bytes is not a model description (at most {MaxDescriptionBytes} are read); expected the .model.json file PretrainedModel.Save writes.");
        }

        Card card;
        try
        {
            card = JsonSerializer.Deserialize<Card>(File.ReadAllBytes(path), Json)
                ?? throw new InvalidDataException($"{path}: the model description is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a readable model description ({ExceptionText.Brief(e)}).", e);
        }

        var description = Validate(card, path);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;

        // Every weights file is checked against the network the description describes before any of it is built.
        string backboneFile = Path.Combine(folder, description.BackboneFile);
        CheckWeights(backboneFile, WeightsLayout.Of(description.Backbone), $"{description.Backbone.Architecture} backbone", card.Backbone!.Sha256, path);
        string? headFile = description.HeadFile is null ? null : Path.Combine(folder, description.HeadFile);
        if (description.Head is { } described)
        {
            CheckWeights(headFile!, WeightsLayout.Of(described), "head", card.Head!.Sha256, path);
        }

        Backbone? backbone = null;
        ProjectionHead? head = null;
        try
        {
            backbone = Build(description.Backbone, path);
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
    /// <param name="architecture">The backbone the weights belong to, e.g. <c>new BackboneDescription("ResNet50", 3, 2048)</c>.</param>
    /// <param name="input">The images it expects, e.g. <see cref="InputDescription.ImageNet"/>(224).</param>
    /// <param name="keyMap">How to rename the file's keys; the default recognises MoCo, DDP and torchvision layouts.</param>
    /// <exception cref="FileNotFoundException">The checkpoint does not exist.</exception>
    /// <exception cref="InvalidDataException">The architecture cannot be built (a size out of <see cref="Load"/>'s ranges), or the file is not a readable checkpoint.</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not fit the architecture (the keys are named).</exception>
    /// <exception cref="ArgumentException">The input description does not fit the architecture.</exception>
    public static PretrainedModel Import(string checkpoint, BackboneDescription architecture, InputDescription input, CheckpointKeyMap? keyMap = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpoint);
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(input);
        if (CheckInput(input, architecture.InputChannels) is { } problem)
        {
            throw new ArgumentException(problem, nameof(input));
        }

        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"Checkpoint not found: {checkpoint}", checkpoint);
        }

        var backbone = Build(architecture, checkpoint);
        try
        {
            var report = Checkpoint.Load(backbone, checkpoint, strict: true, keyMap);
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

    // Before the network is built: the file exists, holds at least the bytes of the described network's tensors and, in
    // TorchSharp's format, exactly its tensors (only names and headers are read), and matches its recorded hash.
    private static void CheckWeights(string file, IReadOnlyList<TensorLayout> layout, string what, string? sha256, string descriptionPath)
    {
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"{descriptionPath}: names the weights file {file}, which does not exist.", file);
        }

        using (var stream = File.OpenRead(file))
        {
            long needed = WeightsLayout.Bytes(layout);
            if (stream.Length < needed)
            {
                throw new InvalidDataException($"{file}: does not fit the model {descriptionPath} describes: it holds {stream.Length} bytes, but the described {what}'s {layout.Count} tensors take {needed} bytes; refused before building it.");
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
                    throw new InvalidDataException($"{file}: does not fit the model {descriptionPath} describes ({ExceptionText.Detail(e, file)}); refused before building it.", e);
                }
            }
        }

        if (sha256 is not null && !string.Equals(Sha256(file), sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{file}: does not match the SHA-256 that {descriptionPath} records; the weights were changed, or come from another save than the description.");
        }
    }

    private static void LoadWeights(nn.Module module, string file, string descriptionPath)
    {
        // The description's own files carry this library's names exactly: no prefix stripped, nothing dropped.
        try
        {
            Checkpoint.Load(module, file, strict: true, keyMap: new CheckpointKeyMap { StripPrefixes = [], DropPrefixes = [], KeepClassifier = true });
        }
        catch (CheckpointMismatchException e)
        {
            throw new InvalidDataException($"{file}: does not fit the model {descriptionPath} describes ({e.Report}).", e);
        }
    }

    // Builds a description whose sizes CheckArchitecture accepted (Validate, Import).
    private static Backbone Build(BackboneDescription d, string path)
    {
        if (CheckArchitecture(d) is { } problem)
        {
            throw new InvalidDataException($"{path}: {problem}");
        }

        Backbone backbone = d.Architecture == "SmallCnn"
            ? new SmallCnn(d.InputChannels, d.FeatureDimension)
            : new ResNet(Enum.Parse<ResNetDepth>(d.Architecture), d.Stem ?? ResNetStem.ImageNet, d.InputChannels, d.Width ?? 64);
        try
        {
            if (d.Classes is { } classes)
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

    // Null when the architecture is one this library builds and every size lies in its range, otherwise what is wrong,
    // naming the field. Nothing is sized from a description before this.
    private static string? CheckArchitecture(BackboneDescription d)
    {
        string? problem = Range("backbone.inputChannels", d.InputChannels, 1, MaxInputChannels)
            ?? Range("backbone.width", d.Width, 1, MaxResNetWidth)
            ?? Range("backbone.classes", d.Classes, 1, MaxClasses);
        if (problem is not null)
        {
            return problem;
        }

        if (d.Stem is { } stem && !Enum.IsDefined(stem))
        {
            return $"backbone.stem is {(int)stem}; expected ImageNet or SmallImage.";
        }

        switch (d.Architecture)
        {
            case "SmallCnn":
                return d.FeatureDimension is < 8 or > MaxSmallCnnFeatures || d.FeatureDimension % 8 != 0
                    ? $"backbone.featureDimension is {d.FeatureDimension}; a SmallCnn has a multiple of 8 from 8 to {MaxSmallCnnFeatures} features."
                    : null;
            case "ResNet18" or "ResNet34" or "ResNet50":
                int width = d.Width ?? 64;
                int features = width * (d.Architecture == "ResNet50" ? 32 : 8);
                return d.FeatureDimension != features
                    ? $"backbone.featureDimension is {d.FeatureDimension} but a {d.Architecture} of width {width} has {features}."
                    : null;
            default:
                return $"backbone.architecture is '{ExceptionText.Printable(d.Architecture)}'; this library builds SmallCnn, ResNet18, ResNet34 and ResNet50.";
        }
    }

    // Null when the head fits a backbone of that many features and its sizes lie in their ranges.
    private static string? CheckHeadDescription(HeadDescription h, int features) =>
        (h.Input != features ? $"head.input is {h.Input} but the backbone gives {features} features." : null)
            ?? Range("head.hidden", h.Hidden, 1, MaxHeadWidth)
            ?? Range("head.output", h.Output, 1, MaxHeadWidth)
            ?? Range("head.hiddenLayers", h.HiddenLayers, 0, MaxHiddenLayers);

    private static string? Range(string field, int? value, int min, int max) =>
        value is { } v && (v < min || v > max) ? $"{field} is {v}; expected {min} to {max}." : null;

    private static ModelDescription Validate(Card card, string path)
    {
        string Field(string name, string what) => $"{path}: {name} {what}";
        if (card.Format != Format)
        {
            throw new InvalidDataException(Field("format", $"is '{ExceptionText.Printable(card.Format ?? "(absent)")}'; this library reads '{Format}'."));
        }

        var b = card.Backbone ?? throw new InvalidDataException(Field("backbone", "is missing."));
        if (string.IsNullOrWhiteSpace(b.Architecture) || b.InputChannels is null || b.FeatureDimension is null || string.IsNullOrWhiteSpace(b.File))
        {
            throw new InvalidDataException(Field("backbone", "needs architecture, inputChannels, featureDimension and file."));
        }

        var backbone = new BackboneDescription(b.Architecture!, b.InputChannels.Value, b.FeatureDimension.Value) { Stem = b.Stem, Width = b.Width, Classes = b.Classes };
        if (CheckArchitecture(backbone) is { } unbuildable)
        {
            throw new InvalidDataException($"{path}: {unbuildable}");
        }

        var i = card.Input ?? throw new InvalidDataException(Field("input", "is missing."));
        var input = new InputDescription(i.Height ?? 0, i.Width ?? 0, i.Mean ?? [], i.Std ?? []);
        if (CheckInput(input, b.InputChannels.Value) is { } problem)
        {
            throw new InvalidDataException(Field("input", problem));
        }

        HeadDescription? head = null;
        if (card.Head is { } h)
        {
            if (h.Input is null || h.Hidden is null || h.Output is null || string.IsNullOrWhiteSpace(h.File))
            {
                throw new InvalidDataException(Field("head", "needs input, hidden, output and file."));
            }

            head = new HeadDescription(h.Input.Value, h.Hidden.Value, h.Output.Value, h.BatchNorm ?? false, h.HiddenLayers ?? 1, h.OutputBatchNorm ?? false);
            if (CheckHeadDescription(head, backbone.FeatureDimension) is { } unbuildableHead)
            {
                throw new InvalidDataException($"{path}: {unbuildableHead}");
            }
        }

        foreach (string? file in new[] { b.File, card.Head?.File })
        {
            if (file is not null && (Path.IsPathRooted(file) || file.Split('/', '\\').Contains("..")))
            {
                throw new InvalidDataException(Field("file", $"'{ExceptionText.Printable(file)}' must name a file in the description's folder."));
            }
        }

        return new ModelDescription
        {
            Backbone = backbone,
            Input = input,
            Head = head,
            Provenance = card.Provenance is null ? new Dictionary<string, string>() : new Dictionary<string, string>(card.Provenance),
            BackboneFile = b.File!,
            HeadFile = card.Head?.File,
        };
    }

    // Null when the input description fits a backbone of that many channels, otherwise what is wrong.
    private static string? CheckInput(InputDescription input, int channels)
    {
        if (input.Height is < 1 or > 4096 || input.Width is < 1 or > 4096)
        {
            return $"size {input.Height}x{input.Width} is out of range; expected 1 to 4096 pixels per side.";
        }

        if (input.Mean is null || input.Std is null || input.Mean.Count != channels || input.Std.Count != channels)
        {
            return $"mean and std need {channels} value(s), one per input channel; got {input.Mean?.Count ?? 0} and {input.Std?.Count ?? 0}.";
        }

        return input.Mean.All(float.IsFinite) && input.Std.All(s => float.IsFinite(s) && s > 0)
            ? null
            : "mean must be finite and std finite and positive.";
    }

    private static string? CheckHead(ProjectionHead? head, BackboneDescription backbone) =>
        head is null ? null
            : head.InputDimension != backbone.FeatureDimension ? $"the head takes {head.InputDimension} inputs but the backbone gives {backbone.FeatureDimension} features."
            : CheckHeadDescription(new HeadDescription(head.InputDimension, head.HiddenDimension, head.OutputDimension, head.BatchNorm, head.HiddenLayers, head.OutputBatchNorm), backbone.FeatureDimension);

    // "name.model.json" → "name"; "name.json" → "name".
    private static string BaseName(string full)
    {
        string name = Path.GetFileNameWithoutExtension(full);
        return name.EndsWith(".model", StringComparison.OrdinalIgnoreCase) ? name[..^".model".Length] : name;
    }

    private static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    // The JSON document, every field optional so that a hand-written file gets a message naming what is missing.
    private sealed class Card
    {
        public string? Format { get; set; }

        public BackboneCard? Backbone { get; set; }

        public InputCard? Input { get; set; }

        public HeadCard? Head { get; set; }

        public IDictionary<string, string>? Provenance { get; set; }
    }

    private sealed class BackboneCard
    {
        public string? Architecture { get; set; }

        public int? InputChannels { get; set; }

        public int? FeatureDimension { get; set; }

        public ResNetStem? Stem { get; set; }

        public int? Width { get; set; }

        public int? Classes { get; set; }

        public string? File { get; set; }

        public string? Sha256 { get; set; }
    }

    private sealed class InputCard
    {
        public int? Height { get; set; }

        public int? Width { get; set; }

        public float[]? Mean { get; set; }

        public float[]? Std { get; set; }
    }

    private sealed class HeadCard
    {
        public int? Input { get; set; }

        public int? Hidden { get; set; }

        public int? Output { get; set; }

        public bool? BatchNorm { get; set; }

        public int? HiddenLayers { get; set; }

        public bool? OutputBatchNorm { get; set; }

        public string? File { get; set; }

        public string? Sha256 { get; set; }
    }
}
