using System.CommandLine;
using UnsupervisedFinetuning.Backbones;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// How a command gets its backbone: a self-describing <c>*.model.json</c> (written by the library, by
/// <c>uft finetune</c>, or by the Pretrain sample) loads in one call; any other checkpoint (PyTorch
/// <c>.pth</c>/<c>.pth.tar</c>, safetensors, TorchSharp <c>.dat</c>) needs <c>--arch</c> and is imported.
/// </summary>
internal sealed class ModelArguments
{
    public static readonly string[] Architectures = ["resnet18", "resnet34", "resnet50", "smallcnn"];

    public Option<string?> Backbone { get; } = new("--backbone")
    {
        Description = "The pretrained backbone: a *.model.json, or a checkpoint (.pth, .pth.tar, .safetensors, .dat) with --arch",
    };

    public Option<string?> Arch { get; } = new("--arch")
    {
        Description = $"Architecture of a checkpoint that does not describe itself: {string.Join(", ", Architectures)}",
    };

    public Option<int?> InputSize { get; } = new("--input-size")
    {
        Description = "With --arch: the input size the backbone expects (default 224 for ResNets, 28 for smallcnn)",
    };

    public Option<int?> InputChannels { get; } = new("--in-channels")
    {
        Description = "With --arch: input channels (default 3 for ResNets, 1 for smallcnn)",
    };

    public IEnumerable<Option> All => [Backbone, Arch, InputSize, InputChannels];

    /// <summary>Loads the model the arguments name (<paramref name="path"/> overrides --backbone, for --compare).</summary>
    /// <exception cref="UsageException">No backbone, or a checkpoint without --arch, or an unknown architecture.</exception>
    public static PretrainedModel Load(string? path, string? arch, int? inputSize, int? inputChannels, string optionName = "--backbone")
    {
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

            return PretrainedModel.Load(path);
        }

        if (arch is null)
        {
            throw new UsageException($"{optionName} {path} is a checkpoint without a description: say what it is with --arch ({string.Join(", ", Architectures)}).");
        }

        var (description, input) = Describe(arch.ToLowerInvariant(), inputSize, inputChannels);
        return PretrainedModel.Import(path, description, input);
    }

    public PretrainedModel Load(ParseResult parse) =>
        Load(parse.GetValue(Backbone), parse.GetValue(Arch), parse.GetValue(InputSize), parse.GetValue(InputChannels));

    private static (BackboneDescription Backbone, InputDescription Input) Describe(string arch, int? inputSize, int? inputChannels)
    {
        if (inputSize is < 8 or > 4096)
        {
            throw new UsageException($"--input-size is {inputSize}; expected 8 to 4096 pixels.");
        }

        if (inputChannels is not (null or 1 or 3))
        {
            throw new UsageException($"--in-channels is {inputChannels}; expected 1 or 3.");
        }

        switch (arch)
        {
            case "resnet18" or "resnet34" or "resnet50":
            {
                int channels = inputChannels ?? 3;
                var depth = Enum.Parse<ResNetDepth>(arch, ignoreCase: true);
                int features = depth == ResNetDepth.ResNet50 ? 2048 : 512;
                var backbone = new BackboneDescription(depth.ToString(), channels, features) { Stem = ResNetStem.ImageNet, Width = 64 };
                int size = inputSize ?? 224;
                return (backbone, channels == 3 ? InputDescription.ImageNet(size) : InputDescription.Centered(size, channels));
            }

            case "smallcnn":
            {
                int channels = inputChannels ?? 1;
                return (new BackboneDescription("SmallCnn", channels, 256), InputDescription.Centered(inputSize ?? 28, channels));
            }

            default:
                throw new UsageException($"--arch is '{arch}'; expected one of {string.Join(", ", Architectures)}.");
        }
    }
}
