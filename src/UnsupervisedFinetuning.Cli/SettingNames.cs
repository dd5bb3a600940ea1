using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tuning;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The library's messages in uft's words. The library names a setting the C# way (<c>FinetuneOptions.BatchSize</c>,
/// <c>MixingOptions.Alpha</c>); uft's user knows it as an option (<c>--batch-size</c>) or as a field of the settings
/// file (<c>engine.batchSize</c>). A message on its way to the terminal names what the user wrote: the option, when
/// the command has one and the value did not come from the settings file; otherwise the field's JSON path, after
/// the file it was read from when it was there.
/// </summary>
internal sealed partial class SettingNames
{
    /// <summary>The library settings uft has an option for (the JSON path of every setting follows from <see cref="FinetuneSettings"/>).</summary>
    internal static readonly IReadOnlyDictionary<string, string> OptionOf = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["FinetuneOptions.Steps"] = "--steps",
        ["FinetuneOptions.Epochs"] = "--epochs",
        ["FinetuneOptions.BatchSize"] = "--batch-size",
        ["FinetuneOptions.LearningRate"] = "--lr",
        ["FinetuneOptions.WeightDecay"] = "--weight-decay",
        ["FinetuneOptions.Seed"] = "--seed",
        ["FinetuneOptions.Device"] = "--device",
        ["FinetuneOptions.Precision"] = "--precision",
        ["FinetuneOptions.CheckpointEverySteps"] = "--checkpoint-every",
        ["FinetuneOptions.Augmentation.ImageSize"] = "--image-size",
        ["FinetuneOptions.Monitoring.Enabled"] = "--monitor-every",
        ["FinetuneOptions.Monitoring.EverySteps"] = "--monitor-every",
        ["FinetuneOptions.Monitoring.Criterion"] = "--criterion",
        ["FinetuneOptions.Monitoring.RestoreBest"] = "--restore-best",
        ["FinetuneOptions.Monitoring.Patience"] = "--patience",
        ["FinetuneOptions.Monitoring.Precision"] = "--precision",
        ["SparseReplayOptions.Ratio"] = "--replay-ratio",
        ["SparseReplayOptions.Count"] = "--replay-count",
        ["SparseReplayOptions.Selection"] = "--replay-selection",
        ["SparseReplayOptions.UniformFraction"] = "--replay-uniform-fraction",
        ["SparseReplayOptions.SelectionPool"] = "--replay-selection-pool",
        ["SparseReplayOptions.Composition"] = "--composition",
        ["MixingOptions.Alpha"] = "--mixing-alpha",
        ["FinetuneSearchOptions.BudgetSteps"] = "--budget-steps",
        ["FinetuneSearchOptions.Criterion"] = "--criterion",
        ["FinetuneRequest.Target"] = "--target",
        ["FinetuneRequest.Source"] = "--source",
        ["FinetuneRequest.SourceProbe"] = "--source-probe",
        ["FinetuneRequest.Validation"] = "--validation",
    };

    // The types a library path can start with; Monitoring and Augmentation are always the engine's in uft. The options
    // types of the catalogs' methods and mixing strategies join them (RootsOf).
    private static readonly IReadOnlyDictionary<string, (Type Type, string Canonical)> FixedRoots = new Dictionary<string, (Type, string)>(StringComparer.Ordinal)
    {
        ["FinetuneOptions"] = (typeof(FinetuneOptions), "FinetuneOptions"),
        ["MonitoringOptions"] = (typeof(MonitoringOptions), "FinetuneOptions.Monitoring"),
        ["Monitoring"] = (typeof(MonitoringOptions), "FinetuneOptions.Monitoring"),
        ["AugmentationOptions"] = (typeof(Augment.AugmentationOptions), "FinetuneOptions.Augmentation"),
        ["SparseReplayOptions"] = (typeof(SparseReplayOptions), "SparseReplayOptions"),
        ["MixingOptions"] = (typeof(MixingOptions), "MixingOptions"),
        ["FinetuneSearchOptions"] = (typeof(FinetuneSearchOptions), "FinetuneSearchOptions"),
        ["FinetuneRequest"] = (typeof(FinetuneRequest), "FinetuneRequest"),
    };

    // Sentences of the library that point at a C# way out; uft's user has an option (or a settings field) instead.
    private static readonly (string Library, string Cli)[] Phrases =
    [
        ("ImageFolderOptions.Height/Width, uft --working-size", "--working-size"),
        ("Monitoring.Enabled = false", "--monitor-every off"),
        ("the request has neither SourceProbe nor Source", "neither --source-probe nor --source is given"),
        ("FixedShare with", "--composition fixed-share with"),
        ("or use Union composition", "or use --composition union"),
        ("raise the replay ratio or the batch size", "raise --replay-ratio or --batch-size"),
        ("lower the batch size", "lower --batch-size"),
        ("raise the budget to", "raise --budget-steps to"),
        ("try fewer candidates", "try fewer candidates (--ratios × --mixup-alphas)"),
        ("Use 'auto' to fall back to the CPU.", "Use --device auto to fall back to the CPU."),
        (" (set FinetuneOptions.CheckpointDirectory to keep one)", ""),
        ("Lower the learning rate", "Lower --lr"),
        ("set NonFiniteLoss = SkipStep", "set \"nonFiniteLoss\": \"skipStep\" in engine of a --config file"),
        ("; adjust CheckpointKeyMap.StripPrefixes.", "; convert the checkpoint to a *.model.json with names of its own (docs/how-to/import-checkpoints.md) and give that instead."),
    ];

    private readonly Command _command;
    private readonly HashSet<string> _given;
    private readonly (string Label, JsonElement Root)? _file;
    private readonly UftCatalogs _catalogs;
    private readonly IReadOnlyDictionary<string, (Type Type, string Canonical)> _roots;
    private readonly Regex _pathPattern;
    private readonly Regex _parenthesisedPathPattern;

    /// <summary>The names as the command line <paramref name="parsed"/> knows them: its command's options, and the settings file it read.</summary>
    public SettingNames(ParseResult parsed, UftCatalogs? catalogs = null)
    {
        _catalogs = catalogs ?? UftCatalogs.BuiltIn;
        _roots = RootsOf(_catalogs);
        // A library path starts with one of the roots' names: FinetuneOptions.BatchSize, MocoV2Options.Temperature, …
        string roots = string.Join('|', _roots.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape));
        _pathPattern = new Regex($@"\b(?<path>(?:{roots})(?:\.[A-Z]\w*)+)(?<value> [A-Z]\w*\b)?", RegexOptions.Compiled);
        _parenthesisedPathPattern = new Regex($@" ?\((?<path>(?:{roots})(?:\.[A-Z]\w*)+)\)", RegexOptions.Compiled);
        _command = parsed.CommandResult.Command;
        var given = parsed.CommandResult.Children.OfType<OptionResult>().Where(r => !r.Implicit).ToList();
        _given = given.Select(r => r.Option.Name).ToHashSet(StringComparer.Ordinal);
        string? Value(string option) => given.FirstOrDefault(r => r.Option.Name == option)?.Tokens is [{ } token] ? token.Value : null;
        // The file finetune took its settings from, as it reads them: --config, else a resumed run's options.json.
        string? config = Value("--config");
        string? resumed = _given.Contains("--resume") && Value("--out") is { } output ? Path.Combine(output, FinetuneCommand.SettingsFile) : null;
        (string Option, string? Path) file = config is not null ? ("--config", config) : ("--resume", resumed);
        if (file.Path is not null && File.Exists(file.Path) && new FileInfo(file.Path).Length <= FinetuneSettings.MaxBytes)
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(file.Path), FinetuneSettings.DocumentOptions);
                _file = ($"{file.Option}: {file.Path}", document.RootElement.Clone());
            }
            catch (JsonException)
            {
                // Not JSON: nothing came from it.
            }
        }
    }

    /// <summary>One failure of an options validation ("<c>FinetuneOptions.Steps is 0; expected …</c>") in the user's words.</summary>
    public string Failure(string failure)
    {
        var match = FailurePattern().Match(failure);
        if (!match.Success || Canonical(match.Groups["path"].Value) is not { } path || Resolve(path) is not { } name)
        {
            return Message(failure);
        }

        var property = Property(path);
        string value = Value(match.Groups["value"].Value, property?.PropertyType, name.Kind);
        string expected = Expected(match.Groups["expected"].Value, path, property, name.Kind);
        if (path == "FinetuneOptions.Monitoring.Enabled" && name.Kind == Vocabulary.Option)
        {
            // Enabled = false is --monitor-every off on the command line.
            (value, expected) = ("off", "a number of steps or auto when --restore-best or --patience is given (they act on monitor points)");
        }

        return Message($"{(name.File is null ? "" : name.File + ": ")}{name.Text} is {value}; expected {expected}.");
    }

    /// <summary>Any message: the library's names of settings (<c>FinetuneOptions.BatchSize</c>) and its C# advice in uft's words.</summary>
    public string Message(string text)
    {
        foreach (var (library, cli) in Phrases)
        {
            text = text.Replace(library, cli, StringComparison.Ordinal);
        }

        text = DevicePattern().Replace(text, "--device is '$1'; expected");
        text = ResumePattern().Replace(text, m => Fingerprint(m.Groups["key"].Value) is { } say
            ? $"the checkpoint was written with {say(m.Groups["old"].Value)} but this run has {say(m.Groups["now"].Value)}; resume with the same options and data (--resume alone takes them from {FinetuneCommand.SettingsFile})."
            : m.Value);
        // A library name alone in parentheses adds nothing once it cannot be said in uft's words.
        text = _parenthesisedPathPattern.Replace(text, m => Canonical(m.Groups["path"].Value) is { } path && Resolve(path) is null ? "" : m.Value);
        text = _pathPattern.Replace(text, m =>
        {
            if (Canonical(m.Groups["path"].Value) is not { } path || Resolve(path) is not { } name)
            {
                return m.Value;
            }

            // "Monitoring.Criterion SourceCka" → "--criterion source-cka": a value after the name is said as it is written.
            string value = m.Groups["value"].Value;
            var type = Property(path)?.PropertyType;
            bool isValue = value.Length > 0 && EnumType(type) is { } enumType && Enum.GetNames(enumType).Contains(value.Trim(), StringComparer.Ordinal);
            // A message that starts with a field of the settings file says which file, as the file's own errors do.
            string file = m.Index == 0 && name.File is not null ? name.File + ": " : "";
            return file + name.Text + (isValue ? " " + Value(value.Trim(), type, name.Kind) : value);
        });
        text = OptionOnly().Replace(text, "");
        return NullForOption().Replace(text, m => m.Groups["option"].Value);
    }

    /// <summary>The option whose settings field is called <paramref name="written"/> (<c>learning-rate</c>, <c>learningRate</c> → <c>--lr</c>), if any.</summary>
    public static string? OptionForField(string written)
    {
        string key = Simplify(written);
        foreach (var (path, option) in OptionOf)
        {
            if (Simplify(path[(path.LastIndexOf('.') + 1)..]) == key)
            {
                return option;
            }
        }

        return null;
    }

    /// <summary>The settings file's JSON path of a library path (<c>FinetuneOptions.Monitoring.Patience</c> → <c>engine.monitoring.patience</c>), or null.</summary>
    internal static string? JsonPath(string path, UftCatalogs? catalogs = null)
    {
        string[] parts = path.Split('.');
        var naming = FinetuneSettings.Json.PropertyNamingPolicy!;
        string? section = typeof(FinetuneSettings).GetProperties().FirstOrDefault(p => p.PropertyType.Name == parts[0]) is { } property ? naming.ConvertName(property.Name)
            : SectionTypes(catalogs ?? UftCatalogs.BuiltIn).FirstOrDefault(t => t.Name == parts[0]) is { } type ? FinetuneSettings.SectionName(type)
            : null;
        if (section is null || parts.Length < 2)
        {
            return null;
        }

        return string.Join('.', parts.Skip(1).Select(naming.ConvertName).Prepend(section));
    }

    // The fixed roots and the options types of the catalogs' methods and mixing strategies.
    private static Dictionary<string, (Type Type, string Canonical)> RootsOf(UftCatalogs catalogs)
    {
        var roots = new Dictionary<string, (Type Type, string Canonical)>(FixedRoots, StringComparer.Ordinal);
        foreach (var type in SectionTypes(catalogs))
        {
            roots.TryAdd(type.Name, (type, type.Name));
        }

        return roots;
    }

    private static IEnumerable<Type> SectionTypes(UftCatalogs catalogs) =>
        catalogs.Methods.Select(m => m.OptionsType).Concat(catalogs.Mixing.Select(m => m.OptionsType).OfType<Type>()).Where(t => t != typeof(MixingOptions)).Distinct();

    private enum Vocabulary
    {
        Option,
        Json,
    }

    private sealed record Name(string Text, Vocabulary Kind, string? File);

    // The name of a canonical library path as this command's user knows it; null when it has none.
    private Name? Resolve(string path)
    {
        string? option = OptionOf.TryGetValue(path, out var o) && _command.Options.Any(x => x.Name == o) ? o : null;
        bool readsSettings = _command.Options.Any(x => x.Name == "--config");
        string? json = readsSettings ? JsonPath(path, _catalogs) : null;
        if (json is not null && _file is { } file && Has(file.Root, json) && (option is null || !_given.Contains(option)))
        {
            return new Name(json, Vocabulary.Json, file.Label);
        }

        return option is not null ? new Name(option, Vocabulary.Option, null)
            : json is not null ? new Name(json, Vocabulary.Json, null)
            : null;
    }

    // A key of the checkpoint's fingerprint ("LearningRate", "Monitoring.Patience", "Replay.Ratio") with its value, as the user says it.
    private Func<string, string>? Fingerprint(string key)
    {
        switch (key)
        {
            case "Method":
                return value => $"--method {value}";
            case "Mixing":
                return value => $"--mixing {value}";
            case "Replay":
                return value => value == "none" ? "no replay" : $"{value} replay (--source)";
            case "TargetCount":
                return value => $"{value} target images";
            case "ReplayCount":
                return value => $"{value} replayed images";
            case "TotalSteps":
                return value => $"{value} steps in all (--steps, --epochs)";
            case "ImageSize":
                return value => $"--image-size {value}";
        }

        string? path = key switch
        {
            _ when key.StartsWith("Replay.", StringComparison.Ordinal) => "SparseReplayOptions" + key[6..],
            _ when key.StartsWith("Mixing.", StringComparison.Ordinal) => "MixingOptions" + key[6..],
            _ when key.StartsWith("Monitoring.", StringComparison.Ordinal) || key.StartsWith("Augmentation.", StringComparison.Ordinal) => "FinetuneOptions." + key,
            _ when typeof(FinetuneOptions).GetProperty(key) is not null => "FinetuneOptions." + key,
            _ => null,
        };
        if (path is null || Resolve(path) is not { } name)
        {
            return null;
        }

        var type = Property(path)?.PropertyType;
        return value => name.Kind == Vocabulary.Option ? $"{name.Text} {Value(value, type, name.Kind)}" : $"{name.Text} = {Value(value, type, name.Kind)}";
    }

    // The failure's "expected …" with the names of sibling settings and enum values in the user's words.
    private string Expected(string expected, string path, PropertyInfo? property, Vocabulary vocabulary)
    {
        if (vocabulary == Vocabulary.Option)
        {
            // An option cannot be given as null: the alternative is to leave it out, which the help says.
            expected = NullAlternative().Replace(expected, "");
        }

        string owner = path[..path.LastIndexOf('.')];
        var ownerType = Property(owner)?.PropertyType ?? _roots.Values.FirstOrDefault(r => r.Canonical == owner).Type;
        if (ownerType is null)
        {
            return expected;
        }

        var ownEnum = EnumType(property?.PropertyType);
        var siblingEnums = ownerType.GetProperties().Select(p => EnumType(p.PropertyType)).OfType<Type>().ToList();
        expected = WordPattern().Replace(expected, m =>
        {
            string word = m.Value;
            bool afterIs = m.Index >= 3 && expected[(m.Index - 3)..m.Index] == "is ";
            var valueEnum = ownEnum is not null && Enum.GetNames(ownEnum).Contains(word) ? ownEnum
                : afterIs ? siblingEnums.FirstOrDefault(e => Enum.GetNames(e).Contains(word)) : null;
            if (valueEnum is not null)
            {
                return Value(word, valueEnum, vocabulary);
            }

            if (ownerType.GetProperty(word) is not null && Resolve($"{owner}.{word}") is { } sibling)
            {
                return sibling.Text;
            }

            return siblingEnums.FirstOrDefault(e => Enum.GetNames(e).Contains(word)) is { } e ? Value(word, e, vocabulary) : word;
        });
        // "when --steps is null": an option is not given, rather than null.
        return vocabulary == Vocabulary.Option ? NotGiven().Replace(expected, "$1 is not given") : expected;
    }

    // A value as the user writes it: true/false; an enum as the option takes it, or camelCase as the settings file does.
    private static string Value(string value, Type? type, Vocabulary vocabulary)
    {
        if (value is "True" or "False")
        {
            return value.ToLowerInvariant();
        }

        if (EnumType(type) is not { } enumType || !Enum.GetNames(enumType).Contains(value, StringComparer.Ordinal))
        {
            return value;
        }

        if (vocabulary == Vocabulary.Json)
        {
            return FinetuneSettings.Json.PropertyNamingPolicy!.ConvertName(value);
        }

        if (enumType == typeof(MonitorCriterion))
        {
            var criterion = Enum.Parse<MonitorCriterion>(value);
            return OptionValues.Criteria.FirstOrDefault(c => c.Value == criterion).Key ?? value.ToLowerInvariant();
        }

        return KebabBoundary().Replace(value, "$1-$2").ToLowerInvariant(); // TargetNearest → target-nearest, BFloat16 → bfloat16
    }

    private static Type? EnumType(Type? type) => (type is null ? null : Nullable.GetUnderlyingType(type) ?? type) is { IsEnum: true } e ? e : null;

    // "Monitoring.Criterion" → "FinetuneOptions.Monitoring.Criterion"; null when the path starts with no known type.
    private string? Canonical(string path)
    {
        int dot = path.IndexOf('.');
        return dot > 0 && _roots.TryGetValue(path[..dot], out var root) ? root.Canonical + path[dot..] : null;
    }

    private PropertyInfo? Property(string canonical)
    {
        string[] parts = canonical.Split('.');
        var type = _roots.TryGetValue(parts[0], out var root) ? root.Type : null;
        PropertyInfo? property = null;
        foreach (string part in parts.Skip(1))
        {
            property = type?.GetProperty(part, BindingFlags.Public | BindingFlags.Instance);
            type = property?.PropertyType;
        }

        return property;
    }

    private static bool Has(JsonElement root, string jsonPath)
    {
        var element = root;
        foreach (string part in jsonPath.Split('.'))
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(part, out element))
            {
                return false;
            }
        }

        return true;
    }

    private static string Simplify(string name) => name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();

    [GeneratedRegex(@"^(?<path>[A-Z]\w*(?:\.[A-Z]\w*)+) is (?<value>.*?); expected (?<expected>.*?)\.?$", RegexOptions.Singleline)]
    private static partial Regex FailurePattern();

    [GeneratedRegex(@"the checkpoint was written with (?<key>[\w.]+) = (?<old>.*?) but this run has \k<key> = (?<now>.*?); resume with the same options and data\.")]
    private static partial Regex ResumePattern();

    [GeneratedRegex(@"Device '(.*?)' is not a device name this library understands; expected")]
    private static partial Regex DevicePattern();

    // The library's pointers to the tool, "(uft: --batch-size, --image-size)", repeat what the translation now says.
    [GeneratedRegex(@" ?\(uft:? [^)]*\)")]
    private static partial Regex OptionOnly();

    // "(or null for the whole source set)" after an option's name: an option is left out, not given as null.
    [GeneratedRegex(@"(?<option>--[\w-]+ is [^;]*;[^(]*?) ?\(or null[^)]*\)")]
    private static partial Regex NullForOption();

    [GeneratedRegex(@"^null \([^)]*\) or |^null or ")]
    private static partial Regex NullAlternative();

    [GeneratedRegex(@"(?<!['\w.-])[A-Z][A-Za-z0-9]*\b(?!')")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"(--[\w-]+) is null\b")]
    private static partial Regex NotGiven();

    [GeneratedRegex(@"([a-z0-9])([A-Z])")]
    private static partial Regex KebabBoundary();
}
