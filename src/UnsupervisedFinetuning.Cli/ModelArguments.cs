using System.CommandLine;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// How a command gets its backbone: a self-describing <c>*.model.json</c> (written by the library, by
/// <c>uft finetune</c>, or by the Pretrain sample) loads in one call; any other checkpoint (PyTorch
/// <c>.pth</c>/<c>.pth.tar</c>, safetensors, TorchSharp <c>.dat</c>) needs <c>--arch</c> and is imported.
/// </summary>
internal sealed class ModelArguments(string required = ModelArguments.Required, Catalog<ArchitectureEntry>? architectures = null)
{
    private readonly Catalog<ArchitectureEntry> _architectures = architectures ?? ArchitectureCatalog.BuiltIn;

    /// <summary>The help's mark of an option a command cannot run without.</summary>
    public const string Required = "[required]";

    /// <summary>The help's mark of a finetune option that the settings file can give instead.</summary>
    public const string RequiredUnlessSettings = "[required unless --config or --resume gives it]";

    /// <summary>The architectures --arch takes: the catalog's names, in alphabetical order.</summary>
    public static string[] Names(Catalog<ArchitectureEntry> architectures) => [.. architectures.Names.Order(StringComparer.Ordinal)];

    public Option<string?> Backbone { get; } = new("--backbone")
    {
        Description = $"The pretrained backbone: a *.model.json, or a checkpoint (.pth, .pth.tar, .safetensors, .dat) with --arch {required}",
    };

    public Option<string?> Arch => field ??= new("--arch")
    {
        Description = $"Architecture of a checkpoint that does not describe itself: {string.Join(", ", Names(_architectures))}",
    };

    public Option<int?> InputSize => field ??= new("--input-size")
    {
        Description = $"With --arch: the input size the backbone expects [default: {Defaults(_architectures, e => e.DefaultInput.Height)}]",
    };

    public Option<int?> InputChannels => field ??= new("--in-channels")
    {
        Description = $"With --arch: input channels [default: {Defaults(_architectures, e => e.DefaultBackbone.InputChannels)}]",
    };

    public IEnumerable<Option> All => [Backbone, Arch, InputSize, InputChannels];

    /// <summary>Loads the model the arguments name (<paramref name="path"/> overrides --backbone, for --compare).</summary>
    /// <exception cref="UsageException">No backbone, or a checkpoint without --arch, or an unknown architecture.</exception>
    public static PretrainedModel Load(string? path, string? arch, int? inputSize, int? inputChannels, string optionName = "--backbone", Catalog<ArchitectureEntry>? architectures = null)
    {
        architectures ??= ArchitectureCatalog.BuiltIn;
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"{optionName} is required: a *.model.json, or a checkpoint with --arch.");
        }

        if (!File.Exists(path))
        {
            throw new UsageException($"{optionName}: file not found: {path}");
        }

        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            if (arch is not null)
            {
                throw new UsageException($"{optionName} {path} describes itself; --arch is only for checkpoints that do not.");
            }

            return PretrainedModel.Load(path, architectures);
        }

        if (arch is null)
        {
            throw new UsageException($"{optionName} {path} is a checkpoint without a description: say what it is with --arch ({string.Join(", ", Names(architectures))}).");
        }

        var (description, input) = Describe(arch.ToLowerInvariant(), inputSize, inputChannels, architectures);
        try
        {
            return PretrainedModel.Import(path, description, input, architectures: architectures);
        }
        catch (CheckpointMismatchException e)
        {
            throw new InvalidDataException(Mismatch(e.Report, optionName, arch.ToLowerInvariant(), description.InputChannels, architectures)); // in place of the library's advice, not beside it
        }
    }

    /// <summary>
    /// A checkpoint that does not fit <c>--arch</c>, said with what the command line can change: the library's advice
    /// (a CheckpointKeyMap) has no option. The file's tensor names are mapped onto the architecture's after the usual
    /// prefixes (module., encoder_q., backbone., …) are removed; what still differs means another architecture or
    /// channel count, or a layout those prefixes do not cover.
    /// </summary>
    private static string Mismatch(CheckpointLoadReport report, string optionName, string arch, int channels, Catalog<ArchitectureEntry> architectures)
    {
        static string Some(IReadOnlyList<string> keys, int shown) =>
            string.Join(", ", keys.Take(shown)) + (keys.Count > shown ? $" (+{keys.Count - shown} more)" : "");
        var found = new List<string>();
        if (report.ShapeMismatches.Count > 0)
        {
            found.Add("shape mismatch " + Some(report.ShapeMismatches.Select(m => m.ToString()).ToList(), 3));
        }

        if (report.Missing.Count > 0)
        {
            found.Add($"{report.Missing.Count} missing key(s): {Some(report.Missing, 6)}");
        }

        if (report.Unexpected.Count > 0)
        {
            found.Add($"{report.Unexpected.Count} unexpected key(s): {Some(report.Unexpected, 6)}");
        }

        string advice = report.Missing.Count == 0 && report.Unexpected.Count == 0
            ? "The names fit but the shapes do not: check --arch (another depth?) and --in-channels (the file's first convolution says how many)."
            : $"Check --arch ({string.Join(", ", Names(architectures))}). If it is right, the file names its tensors in a layout uft does not map: convert it once to a *.model.json (docs/how-to/import-checkpoints.md shows how) and give that to {optionName}.";
        return $"{optionName} {report.Source} does not fit --arch {arch} with {channels} input channel(s), nothing was loaded: {string.Join(" | ", found)}. {advice}";
    }

    public PretrainedModel Load(ParseResult parse) =>
        Load(parse.GetValue(Backbone), parse.GetValue(Arch), parse.GetValue(InputSize), parse.GetValue(InputChannels), architectures: _architectures);

    /// <summary>The model at <paramref name="path"/> with these arguments' architecture options and catalog (for --compare).</summary>
    public PretrainedModel Load(ParseResult parse, string path, string optionName) =>
        Load(path, parse.GetValue(Arch), parse.GetValue(InputSize), parse.GetValue(InputChannels), optionName, _architectures);

    private static (BackboneDescription Backbone, InputDescription Input) Describe(string arch, int? inputSize, int? inputChannels, Catalog<ArchitectureEntry> architectures)
    {
        if (inputSize is < 8 or > 4096)
        {
            throw new UsageException($"--input-size is {inputSize}; expected 8 to 4096 pixels.");
        }

        if (inputChannels is not (null or 1 or 3))
        {
            throw new UsageException($"--in-channels is {inputChannels}; expected 1 or 3.");
        }

        var entry = Names(architectures).Contains(arch, StringComparer.Ordinal)
            ? architectures.Get(arch)
            : throw new UsageException($"--arch is '{arch}'; expected one of {string.Join(", ", Names(architectures))}.");
        int channels = inputChannels ?? entry.DefaultBackbone.InputChannels;
        return (entry.DefaultBackboneFor(channels), entry.DefaultInputFor(inputSize ?? entry.DefaultInput.Height, channels));
    }

    /// <summary>
    /// A default per architecture for the help, the architectures of one value together: "224 for ResNets, 28 for
    /// smallcnn". Several architectures whose spellings share a prefix of three letters or more are named by it, plural.
    /// </summary>
    private static string Defaults(Catalog<ArchitectureEntry> architectures, Func<ArchitectureEntry, int> value)
    {
        var entries = Names(architectures).Select(architectures.Get).ToList();
        return string.Join(", ", entries.GroupBy(value).Select(group => $"{group.Key} for {Family([.. group])}"));

        static string Family(IReadOnlyList<ArchitectureEntry> members)
        {
            if (members.Count == 1)
            {
                return members[0].Name;
            }

            string prefix = new([.. members[0].Architecture.TakeWhile((c, i) => char.IsLetter(c) && members.All(m => i < m.Architecture.Length && m.Architecture[i] == c))]);
            return prefix.Length >= 3 ? prefix + "s" : string.Join("/", members.Select(m => m.Name));
        }
    }
}
