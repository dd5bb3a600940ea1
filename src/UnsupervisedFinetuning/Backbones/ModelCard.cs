using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// The model card: the <c>*.model.json</c> document that describes a saved model (<see cref="ModelDescription"/>) — the
/// backbone's architecture and sizes, the input size and normalisation, the projection head, free-text provenance, and
/// the weights files beside it with their SHA-256 — like timm's <c>pretrained_cfg</c> or a Hugging Face
/// <c>config.json</c>. This type reads, checks and writes the document only; <see cref="PretrainedModel"/> saves and
/// loads a model with its weights.
/// </summary>
/// <remarks>
/// A card is checked before anything is built from it, so that a few edited bytes cannot make a load allocate without
/// bound: at most 1 MiB is read, and its sizes must lie in these ranges: <c>backbone.inputChannels</c> 1–64,
/// <c>backbone.width</c> 1–1024, <c>backbone.classes</c> 1–1,000,000; the architecture must be in the catalog and accept
/// the description (a SmallCnn's <c>featureDimension</c> a multiple of 8 from 8 to 4096, a ResNet's the one its width
/// gives), and <c>backbone.featureDimension</c> lie in 1–65,536; the input 1–4096 pixels per side with one finite mean
/// and positive standard deviation per channel; the head's <c>input</c> equal to the backbone's features,
/// <c>hidden</c> and <c>output</c> 1–65,536, <c>hiddenLayers</c> 0–64; the files in the card's folder.
/// </remarks>
public static class ModelCard
{
    /// <summary>The format this library writes and reads in the card's <c>format</c> field.</summary>
    public const string Format = "UnsupervisedFinetuning.Model/1";

    // A card is a few hundred bytes; anything far larger is not one.
    private const long MaxBytes = 1 << 20;

    // Bounds on a card's sizes, checked before anything is built or sized from them (a forged size must not reach the
    // native allocator, nor overflow the arithmetic that sizes the network). Generous for real models:
    private const int MaxInputChannels = 64; // images have 1 or 3 channels, multispectral ones a dozen or so
    private const int MaxResNetWidth = 1024; // 16 × torchvision's 64: a ResNet-50 of 6 billion parameters (24 GB)
    private const int MaxClasses = 1_000_000; // 46 × ImageNet-21k's 21,841 classes
    private const int MaxFeatures = 65_536; // 32 × a ResNet-50's 2048 (the built-ins' own checks are stricter)
    private const int MaxHeadWidth = 65_536; // 16 × BYOL's 4096-wide projector
    private const int MaxHiddenLayers = 64; // published heads have 1 to 3
    private const int MaxInputSide = 4096;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>
    /// Reads and checks the card at <paramref name="path"/> (the weights files it names are not opened). The
    /// architecture is looked up in <paramref name="architectures"/> (default <see cref="ArchitectureCatalog.BuiltIn"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is too large or malformed, a field is missing or out of range, or
    /// the architecture is not in the catalog; the message starts with the path and names the field and its value.</exception>
    public static ModelDescription Read(string path, Catalog<ArchitectureEntry>? architectures = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model description not found: {path}", path);
        }

        long length = new FileInfo(path).Length;
        if (length > MaxBytes)
        {
            throw new InvalidDataException($"{path}: {length} bytes is not a model description (at most {MaxBytes} are read); expected the .model.json file PretrainedModel.Save writes.");
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

        return Validate(card, path, architectures ?? ArchitectureCatalog.BuiltIn);
    }

    /// <summary>
    /// Writes <paramref name="description"/> as a card at <paramref name="path"/>, atomically (a card that was there is
    /// replaced whole or not at all). It must be one <see cref="Read"/> accepts with the same catalog; the weights files
    /// it names are not checked. <see cref="PretrainedModel.Save"/> writes the weights and then the card.
    /// </summary>
    /// <exception cref="ArgumentException">The path does not end in <c>.json</c>, or the description is one <see cref="Read"/> would refuse (the field is named).</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public static void Write(string path, ModelDescription description, Catalog<ArchitectureEntry>? architectures = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(description);
        CheckPath(path);
        string? problem = CheckBackbone(description.Backbone, architectures ?? ArchitectureCatalog.BuiltIn)
            ?? CheckInputField(description.Input, description.Backbone.InputChannels)
            ?? (description.Head is { } head ? CheckHead(head, description.Backbone.FeatureDimension) : null)
            ?? CheckFiles(description.BackboneFile, description.HeadFile, description.Head is not null);
        if (problem is not null)
        {
            throw new ArgumentException($"The description cannot be written as a card that reads back: {problem}", nameof(description));
        }

        WriteChecked(path, description, writeProvenance: description.Provenance.Count > 0);
    }

    /// <summary>The SHA-256 of a file, as a card records it (lower-case hexadecimal).</summary>
    internal static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <exception cref="ArgumentException">The path does not end in <c>.json</c>.</exception>
    internal static void CheckPath(string path)
    {
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"A model description is a .json file (e.g. name.model.json); got {path}.", nameof(path));
        }
    }

    /// <summary>
    /// Writes a description already checked. <paramref name="writeProvenance"/> false leaves the field out (a model saved
    /// without provenance); true writes it even when empty, as <see cref="PretrainedModel.Save"/> always has.
    /// </summary>
    internal static void WriteChecked(string path, ModelDescription d, bool writeProvenance)
    {
        // Property order and names are the file format: the same model is written to the same bytes.
        var card = new Card
        {
            Format = Format,
            Backbone = new BackboneCard
            {
                Architecture = d.Backbone.Architecture,
                InputChannels = d.Backbone.InputChannels,
                FeatureDimension = d.Backbone.FeatureDimension,
                Stem = d.Backbone.Stem,
                Width = d.Backbone.Width,
                Classes = d.Backbone.Classes,
                File = d.BackboneFile,
                Sha256 = d.BackboneSha256,
            },
            Input = new InputCard { Height = d.Input.Height, Width = d.Input.Width, Mean = [.. d.Input.Mean], Std = [.. d.Input.Std] },
            Head = d.Head is not { } h ? null : new HeadCard
            {
                Input = h.Input,
                Hidden = h.Hidden,
                Output = h.Output,
                BatchNorm = h.BatchNorm,
                HiddenLayers = h.HiddenLayers,
                OutputBatchNorm = h.OutputBatchNorm,
                File = d.HeadFile,
                Sha256 = d.HeadSha256,
            },
            Provenance = writeProvenance ? new SortedDictionary<string, string>(d.Provenance.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal) : null,
        };
        AtomicFile.WriteAllText(Path.GetFullPath(path), JsonSerializer.Serialize(card, Json) + "\n");
    }

    /// <summary>
    /// Null when <paramref name="d"/> is within the card's bounds and an architecture of <paramref name="architectures"/>
    /// builds it; otherwise what is wrong, naming the field. Nothing is sized from a description before this.
    /// </summary>
    internal static string? CheckBackbone(BackboneDescription d, Catalog<ArchitectureEntry> architectures)
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

        if (d.Architecture is null || architectures.Find(d.Architecture) is not { } entry)
        {
            string names = Names(architectures);
            return ReferenceEquals(architectures, ArchitectureCatalog.BuiltIn)
                ? $"backbone.architecture is '{ExceptionText.Printable(d.Architecture ?? "(absent)")}'; this library builds {names}."
                : $"backbone.architecture is '{ExceptionText.Printable(d.Architecture ?? "(absent)")}'; the architecture catalog given builds {names}.";
        }

        return entry.Check(d) ?? Range("backbone.featureDimension", d.FeatureDimension, 1, MaxFeatures);
    }

    /// <summary>Null when the input fits a backbone of that many channels, otherwise what is wrong (after "input ").</summary>
    internal static string? CheckInput(InputDescription input, int channels)
    {
        if (input.Height is < 1 or > MaxInputSide || input.Width is < 1 or > MaxInputSide)
        {
            return $"size {input.Height}x{input.Width} is out of range; expected 1 to {MaxInputSide} pixels per side.";
        }

        if (input.Mean is null || input.Std is null || input.Mean.Count != channels || input.Std.Count != channels)
        {
            return $"mean and std need {channels} value(s), one per input channel; got {input.Mean?.Count ?? 0} and {input.Std?.Count ?? 0}.";
        }

        return input.Mean.All(float.IsFinite) && input.Std.All(s => float.IsFinite(s) && s > 0)
            ? null
            : "mean must be finite and std finite and positive.";
    }

    /// <summary>Null when the head fits a backbone of that many features and its sizes lie in their ranges.</summary>
    internal static string? CheckHead(HeadDescription h, int features) =>
        (h.Input != features ? $"head.input is {h.Input} but the backbone gives {features} features." : null)
            ?? Range("head.hidden", h.Hidden, 1, MaxHeadWidth)
            ?? Range("head.output", h.Output, 1, MaxHeadWidth)
            ?? Range("head.hiddenLayers", h.HiddenLayers, 0, MaxHiddenLayers);

    // "SmallCnn, ResNet18, ResNet34 and ResNet50": the spellings a card uses, in the catalog's order.
    private static string Names(Catalog<ArchitectureEntry> architectures) => architectures.Count switch
    {
        0 => "no architecture",
        1 => architectures[0].Architecture,
        _ => string.Join(", ", architectures.Take(architectures.Count - 1).Select(e => e.Architecture)) + " and " + architectures[^1].Architecture,
    };

    private static string? CheckInputField(InputDescription input, int channels) =>
        CheckInput(input, channels) is { } problem ? $"input {problem}" : null;

    // The weights files are named, and lie in the card's folder.
    private static string? CheckFiles(string? backboneFile, string? headFile, bool hasHead)
    {
        if (string.IsNullOrWhiteSpace(backboneFile))
        {
            return "backbone.file is missing.";
        }

        if (hasHead && string.IsNullOrWhiteSpace(headFile))
        {
            return "head.file is missing.";
        }

        foreach (string? file in new[] { backboneFile, headFile })
        {
            if (file is not null && (Path.IsPathRooted(file) || file.Split('/', '\\').Contains("..")))
            {
                return $"file '{ExceptionText.Printable(file)}' must name a file in the description's folder.";
            }
        }

        return null;
    }

    private static string? Range(string field, int? value, int min, int max) =>
        value is { } v && (v < min || v > max) ? $"{field} is {v}; expected {min} to {max}." : null;

    private static ModelDescription Validate(Card card, string path, Catalog<ArchitectureEntry> architectures)
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
        if (CheckBackbone(backbone, architectures) is { } unbuildable)
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
            if (CheckHead(head, backbone.FeatureDimension) is { } unbuildableHead)
            {
                throw new InvalidDataException($"{path}: {unbuildableHead}");
            }
        }

        if (CheckFiles(b.File, card.Head?.File, card.Head is not null) is { } misplaced)
        {
            throw new InvalidDataException($"{path}: {misplaced}");
        }

        return new ModelDescription
        {
            Backbone = backbone,
            Input = input,
            Head = head,
            Provenance = card.Provenance is null ? new Dictionary<string, string>() : new Dictionary<string, string>(card.Provenance),
            BackboneFile = b.File!,
            HeadFile = card.Head?.File,
            BackboneSha256 = b.Sha256,
            HeadSha256 = card.Head?.Sha256,
        };
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
