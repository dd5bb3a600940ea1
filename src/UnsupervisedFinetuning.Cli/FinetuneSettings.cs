using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
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
internal sealed partial class FinetuneSettings
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<UftCatalogs, JsonSerializerOptions> JsonByCatalogs = [];

    // The options objects of the catalogs' methods (and of mixing strategies with options of their own), by options type.
    private readonly Dictionary<Type, object> _sections = [];

    /// <summary>Settings with every default, for the built-in catalogs.</summary>
    public FinetuneSettings()
        : this(UftCatalogs.BuiltIn)
    {
    }

    /// <summary>Settings with every default, with a section for each options type of <paramref name="catalogs"/>.</summary>
    public FinetuneSettings(UftCatalogs catalogs)
    {
        Catalogs = catalogs;
        foreach (var (_, type, create) in Sections(catalogs))
        {
            _sections[type] = create();
        }
    }

    /// <summary>The JSON form of the settings file for the built-in catalogs.</summary>
    public static JsonSerializerOptions Json => JsonFor(UftCatalogs.BuiltIn);

    /// <summary>The catalogs whose names and options sections these settings hold.</summary>
    [JsonIgnore]
    public UftCatalogs Catalogs { get; }

    /// <summary>
    /// The JSON form of the settings file for <paramref name="catalogs"/>: the fields of this class, and one section per
    /// options type of a method (and of a mixing strategy with options other than <see cref="MixingOptions"/>), named
    /// after the type ("mocoV2" for MocoV2Options) — so a method of one's own has its section like the built-in ones.
    /// </summary>
    public static JsonSerializerOptions JsonFor(UftCatalogs catalogs) => JsonByCatalogs.GetValue(catalogs, c =>
    {
        var resolver = new DefaultJsonTypeInfoResolver();
        resolver.Modifiers.Add(info =>
        {
            if (info.Type != typeof(FinetuneSettings))
            {
                return;
            }

            info.CreateObject = () => new FinetuneSettings(c);
            foreach (var (key, type, _) in Sections(c))
            {
                var property = info.CreateJsonPropertyInfo(type, key);
                property.Get = settings => ((FinetuneSettings)settings)._sections[type];
                property.Set = (settings, value) => ((FinetuneSettings)settings)._sections[type] = value!; // null is refused by Read
                info.Properties.Add(property);
            }
        });
        return new JsonSerializerOptions(BaseJson) { TypeInfoResolver = resolver };
    });

    /// <summary>The section name of an options type in the settings file: "mocoV2" for MocoV2Options.</summary>
    public static string SectionName(Type optionsType)
    {
        string name = optionsType.Name.EndsWith("Options", StringComparison.Ordinal) && optionsType.Name.Length > 7 ? optionsType.Name[..^7] : optionsType.Name;
        return JsonNamingPolicy.CamelCase.ConvertName(name);
    }

    /// <summary>The options of the method <paramref name="entry"/> (of its <see cref="MethodEntry.OptionsType"/>).</summary>
    public object MethodOptions(MethodEntry entry) => _sections[entry.OptionsType];

    /// <summary>The options of the method whose options type is <typeparamref name="TOptions"/>.</summary>
    public TOptions MethodOptions<TOptions>() => (TOptions)_sections[typeof(TOptions)];

    /// <summary>The method <see cref="Method"/> names, with its options from these settings.</summary>
    /// <exception cref="UsageException">No method of the catalog has that name.</exception>
    public ISelfSupervisedMethod CreateMethod()
    {
        var entry = Catalogs.Method(Method);
        return entry.Create(MethodOptions(entry));
    }

    /// <summary>The mixing strategy <see cref="Mixing"/> names, with its options from these settings.</summary>
    /// <exception cref="UsageException">No mixing strategy of the catalog has that name.</exception>
    public IMixingStrategy CreateMixing()
    {
        var entry = Catalogs.MixingStrategy(Mixing);
        return entry.Create(entry.OptionsType is null ? null : entry.OptionsType == typeof(MixingOptions) ? MixingOptions : _sections[entry.OptionsType]);
    }

    // One section per distinct options type; MixingOptions keeps its own field, "mixingOptions".
    private static IEnumerable<(string Key, Type Type, Func<object> Create)> Sections(UftCatalogs catalogs)
    {
        var seen = new HashSet<Type> { typeof(MixingOptions) };
        foreach (var entry in catalogs.Methods)
        {
            if (seen.Add(entry.OptionsType))
            {
                yield return (SectionName(entry.OptionsType), entry.OptionsType, entry.NewOptions);
            }
        }

        foreach (var entry in catalogs.Mixing)
        {
            if (entry.OptionsType is { } type && seen.Add(type))
            {
                yield return (SectionName(type), type, () => entry.NewOptions()!);
            }
        }
    }

    private static readonly JsonSerializerOptions BaseJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, // a misspelt setting is an error, not a silent default
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        // A settings file is written by hand: a comment or a comma after the last field is no reason to refuse it.
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>How <see cref="Read"/> parses a file before binding it: as leniently as <see cref="Json"/>.</summary>
    internal static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The largest settings file read: a settings file is a few hundred bytes of JSON.</summary>
    internal const int MaxBytes = 1 << 20;

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

    /// <summary>A name of the method catalog: mocov2, simclr, byol or simsiam (or one added to it).</summary>
    public string Method { get; set; } = "mocov2";

    /// <summary>A name of the mixing catalog: none, mixup or cutmix (or one added to it).</summary>
    public string Mixing { get; set; } = "none";

    /// <summary>Size images are decoded at before the training views are cut (default: the model's input size).</summary>
    public int? WorkingSize { get; set; }

    /// <summary>Skip files that cannot be decoded (logged) instead of stopping.</summary>
    public bool SkipUnreadable { get; set; }

    public FinetuneOptions Engine { get; set; } = new() { CheckpointEverySteps = 50, ProgressEverySteps = 1 };

    public SparseReplayOptions Replay { get; set; } = new();

    public MixingOptions MixingOptions { get; set; } = new();

    /// <summary>Reads a settings file.</summary>
    /// <exception cref="UsageException">
    /// It does not exist or is not valid settings JSON: the message names the line, or the field by its JSON path with
    /// the nearest known name for an unknown one and the kind of value expected for a wrong one.
    /// </exception>
    public static FinetuneSettings Read(string path, string optionName, UftCatalogs? catalogs = null)
    {
        catalogs ??= UftCatalogs.BuiltIn;
        var json = JsonFor(catalogs);
        if (!File.Exists(path))
        {
            throw new UsageException($"{optionName}: file not found: {path}");
        }

        if (new FileInfo(path).Length > MaxBytes)
        {
            throw new UsageException($"{optionName}: {path} is over 1 MB; a settings file is a few hundred bytes of JSON.");
        }

        byte[] bytes = File.ReadAllBytes(path);
        string where = $"{optionName}: {path}";
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(bytes, DocumentOptions);
            root = document.RootElement.Clone();
        }
        catch (JsonException e) when (bytes.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
        {
            throw new UsageException($"{where} is empty; expected a JSON object of settings, {{ … }}.", e);
        }
        catch (JsonException e)
        {
            throw new UsageException($"{where}: not valid JSON at {Position(e)}: {ReaderMessage().Replace(e.Message, "")}", e);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new UsageException($"{where} holds {Describe(root)}; expected a JSON object of settings, {{ … }}.");
        }

        FinetuneSettings settings;
        try
        {
            settings = JsonSerializer.Deserialize<FinetuneSettings>(bytes, json)!;
        }
        catch (JsonException e)
        {
            throw new UsageException($"{where}: {Explain(e, root, json)}", e);
        }

        // "engine": null (or any section null) deserialises to a null object, which the options code would dereference.
        var sections = new (string Name, object? Value)[]
        {
            ("engine", settings.Engine), ("engine.augmentation", settings.Engine?.Augmentation), ("engine.monitoring", settings.Engine?.Monitoring),
            ("replay", settings.Replay), ("mixingOptions", settings.MixingOptions), ("method", settings.Method), ("mixing", settings.Mixing),
        }.Concat(settings._sections.Select(s => (SectionName(s.Key), (object?)s.Value)));
        foreach (var (name, value) in sections)
        {
            if (value is null)
            {
                throw new UsageException($"{optionName}: {path}: '{name}' is null; give it a value, or leave the field out for its default.");
            }
        }

        return settings;
    }

    // What the binder refused, by the field's JSON path: an unknown field with the name nearest to it, or a value of
    // the wrong kind with the kind expected. The binder's own message names .NET types and members.
    private static string Explain(JsonException e, JsonElement root, JsonSerializerOptions json)
    {
        var segments = Segments(e.Path ?? "$");
        var info = json.GetTypeInfo(typeof(FinetuneSettings));
        Type? type = typeof(FinetuneSettings);
        for (int i = 0; i < segments.Count; i++)
        {
            string written = segments[i];
            string at = Join(segments.Take(i + 1));
            if (int.TryParse(written, NumberStyles.None, CultureInfo.InvariantCulture, out _) && info.ElementType is { } element)
            {
                type = element;
            }
            else if (info.Kind == JsonTypeInfoKind.Object && info.Properties.FirstOrDefault(p => p.Name == written) is { } property)
            {
                type = property.PropertyType;
            }
            else if (info.Kind == JsonTypeInfoKind.Object)
            {
                string[] names = info.Properties.Select(p => p.Name).ToArray();
                string? meant = NearestName.Find(written, names) ?? Elsewhere(written, json);
                string within = i == 0 ? "at the top level" : $"of {Join(segments.Take(i))}";
                return $"unknown field '{at}' ({Line(e)}); " + (meant is not null ? $"did you mean '{meant}'?" : $"the fields {within} are {string.Join(", ", names)}.");
            }
            else
            {
                break;
            }

            info = json.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
        }

        string field = segments.Count == 0 ? "the file" : Join(segments);
        string value = Find(root, segments) is { } found ? Describe(found) : "not readable";
        string kind = ValueKind.Of(type);
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        bool integerLiteral = Find(root, segments) is { ValueKind: JsonValueKind.Number } number && !number.GetRawText().Any(c => c is '.' or 'e' or 'E');
        string range = kind == "a whole number" && integerLiteral && underlying.GetField("MaxValue") is { } max && underlying.GetField("MinValue") is { } min
            ? string.Create(CultureInfo.InvariantCulture, $" from {min.GetValue(null)} to {max.GetValue(null)}")
            : "";
        string quoted = kind == "text" ? " in quotes" : "";
        return $"{field} is {value}; expected {kind}{range}{quoted} ({Line(e)}).";
    }

    // A field with this name elsewhere in the settings ("learningRate" at the top → engine.learningRate), or the field
    // of the option it names ("lr" → engine.learningRate).
    private static string? Elsewhere(string written, JsonSerializerOptions json)
    {
        var fields = new List<string>();
        void Collect(Type type, string prefix, int depth)
        {
            var info = json.GetTypeInfo(type);
            if (info.Kind != JsonTypeInfoKind.Object || depth > 3)
            {
                return;
            }

            foreach (var property in info.Properties)
            {
                string path = prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}";
                fields.Add(path);
                Collect(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType, path, depth + 1);
            }
        }

        Collect(typeof(FinetuneSettings), "", 0);
        return fields.FirstOrDefault(f => string.Equals(f[(f.LastIndexOf('.') + 1)..], written, StringComparison.OrdinalIgnoreCase))
            ?? (SettingNames.OptionOf.FirstOrDefault(o => o.Value == "--" + written).Key is { } library ? SettingNames.JsonPath(library) : null);
    }

    // "$.engine.augmentation['normalizationMean'][1]" → engine, augmentation, normalizationMean, 1
    private static List<string> Segments(string path)
    {
        var segments = new List<string>();
        foreach (System.Text.RegularExpressions.Match m in PathSegment().Matches(path))
        {
            segments.Add(m.Groups["name"].Success ? m.Groups["name"].Value : m.Groups["quoted"].Success ? m.Groups["quoted"].Value : m.Groups["index"].Value);
        }

        return segments;
    }

    private static string Join(IEnumerable<string> segments) =>
        string.Concat(segments.Select((s, i) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? $"[{s}]" : i == 0 ? s : "." + s));

    private static JsonElement? Find(JsonElement root, IReadOnlyList<string> segments)
    {
        var element = root;
        foreach (string segment in segments)
        {
            if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(segment, out var child))
            {
                element = child;
            }
            else if (element.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < element.GetArrayLength())
            {
                element = element[index];
            }
            else
            {
                return null;
            }
        }

        return element;
    }

    // A value as it stands in the file, shortened: 'ten', 1.5, an object, a list.
    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => value.GetString() is { Length: > 40 } text ? $"\"{text[..40]}…\"" : value.GetRawText(),
        _ => value.GetRawText(),
    };

    // The binder reports where it stopped reading (after a field's name, at the end of its value): the line is right, the column is not the field's.
    private static string Line(JsonException e) => e.LineNumber is { } line ? $"line {line + 1}" : "line unknown";

    private static string Position(JsonException e) =>
        e.LineNumber is { } line ? $"line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : "an unknown position";

    [System.Text.RegularExpressions.GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>\d+)\]")]
    private static partial System.Text.RegularExpressions.Regex PathSegment();

    // The reader's position and its advice about reader options, which the message says in its own words.
    [System.Text.RegularExpressions.GeneratedRegex(@" ?(?:Change the reader options\.|Path: \S*|\|?\s*LineNumber: \d+|\|\s*BytePositionInLine: \d+\.?)")]
    private static partial System.Text.RegularExpressions.Regex ReaderMessage();

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
                stream.Write(System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(this, JsonFor(Catalogs)) + "\n"));
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
