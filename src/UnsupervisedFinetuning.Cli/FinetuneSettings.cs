using System.Text.Json;
using System.Text.Json.Serialization;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Everything <c>uft finetune</c> runs with — the file <c>--config</c> reads and the <c>options.json</c> a run
/// writes into its output folder. The nested objects are the library's own options types, field for field
/// (<see cref="FinetuneOptions"/>, <see cref="SparseReplayOptions"/>, <see cref="MixingOptions"/>, the method's
/// options), so a setting has one name in C#, in JSON and in the docs. Command-line options override the file.
/// </summary>
internal sealed class FinetuneSettings
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, // a misspelt setting is an error, not a silent default
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The pretrained backbone: a *.model.json, or a checkpoint with <see cref="Arch"/>.</summary>
    public string? Backbone { get; set; }

    /// <summary>Architecture of a checkpoint that does not describe itself.</summary>
    public string? Arch { get; set; }

    /// <summary>With <see cref="Arch"/>: the input size.</summary>
    public int? InputSize { get; set; }

    /// <summary>With <see cref="Arch"/>: the input channels.</summary>
    public int? InputChannels { get; set; }

    /// <summary>Unlabelled target images: folder or manifest.</summary>
    public string? Target { get; set; }

    /// <summary>Source images to replay from: folder or manifest (indexed, never loaded whole). No replay without it.</summary>
    public string? Source { get; set; }

    /// <summary>Source images to measure drift on while monitoring (default: a sample of <see cref="Source"/>).</summary>
    public string? SourceProbe { get; set; }

    /// <summary>A few labelled target images (class sub-folders or a labelled manifest) for the leave-one-out kNN monitor.</summary>
    public string? Validation { get; set; }

    /// <summary>Output folder: checkpoint, options.json, log.txt, finetuned.model.json.</summary>
    public string? Out { get; set; }

    /// <summary>mocov2, simclr, byol or simsiam.</summary>
    public string Method { get; set; } = "mocov2";

    /// <summary>none, mixup or cutmix.</summary>
    public string Mixing { get; set; } = "none";

    /// <summary>Size images are decoded at before the training views are cut (default: the model's input size).</summary>
    public int? WorkingSize { get; set; }

    /// <summary>Skip files that cannot be decoded (logged) instead of stopping.</summary>
    public bool SkipUnreadable { get; set; }

    public FinetuneOptions Engine { get; set; } = new() { CheckpointEverySteps = 50, ProgressEverySteps = 1 };

    public SparseReplayOptions Replay { get; set; } = new();

    public MixingOptions MixingOptions { get; set; } = new();

    public MocoV2Options MocoV2 { get; set; } = new();

    public SimClrOptions SimClr { get; set; } = new();

    public ByolOptions Byol { get; set; } = new();

    public SimSiamOptions SimSiam { get; set; } = new();

    /// <summary>Reads a settings file.</summary>
    /// <exception cref="UsageException">It does not exist or is not valid settings JSON (the field is named).</exception>
    public static FinetuneSettings Read(string path, string optionName)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"{optionName}: file not found: {path}");
        }

        if (new FileInfo(path).Length > 1 << 20)
        {
            throw new UsageException($"{optionName}: {path} is over 1 MB; a settings file is a few hundred bytes of JSON.");
        }

        FinetuneSettings settings;
        try
        {
            settings = JsonSerializer.Deserialize<FinetuneSettings>(File.ReadAllBytes(path), Json)
                ?? throw new UsageException($"{optionName}: {path} is empty (expected a JSON object).");
        }
        catch (JsonException e)
        {
            throw new UsageException($"{optionName}: {path} is not valid settings JSON: {e.Message}");
        }

        // "engine": null (or any section null) deserialises to a null object, which the options code would dereference.
        var sections = new (string Name, object? Value)[]
        {
            ("engine", settings.Engine), ("engine.augmentation", settings.Engine?.Augmentation), ("engine.monitoring", settings.Engine?.Monitoring),
            ("replay", settings.Replay), ("mixingOptions", settings.MixingOptions), ("mocoV2", settings.MocoV2), ("simClr", settings.SimClr),
            ("byol", settings.Byol), ("simSiam", settings.SimSiam), ("method", settings.Method), ("mixing", settings.Mixing),
        };
        foreach (var (name, value) in sections)
        {
            if (value is null)
            {
                throw new UsageException($"{optionName}: {path}: '{name}' is null; give it a value, or leave the field out for its default.");
            }
        }

        return settings;
    }

    /// <summary>
    /// Writes the settings as JSON, whole or not at all: a temporary file beside the target, flushed, renamed over it;
    /// on failure (disk full, permission denied) the temporary file is removed and the old file is unchanged.
    /// </summary>
    /// <exception cref="IOException">The file could not be written; the message names it.</exception>
    public void Write(string path)
    {
        string temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(this, Json) + "\n"));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // the original error is the one to report
            }

            throw new IOException($"{path}: the settings could not be written ({e.Message}); the previous file is unchanged.", e);
        }
    }
}
