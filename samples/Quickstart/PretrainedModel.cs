using System.Text.Json;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>The shipped source model (samples/data/pretrained), as written by samples/Pretrain.</summary>
internal sealed class PretrainedModel
{
    private readonly string _backbonePath;
    private readonly string _headPath;
    private readonly int _hidden;
    private readonly int _output;

    public PretrainedModel(DirectoryInfo data)
    {
        string folder = Path.Combine(data.FullName, "pretrained");
        string record = Path.Combine(folder, "pretrained.json");
        if (!File.Exists(record))
        {
            throw new FileNotFoundException($"The pretrained source model is missing: {record} not found. Run `dotnet run -c Release --project samples/Pretrain` first.", record);
        }

        using var json = JsonDocument.Parse(File.ReadAllText(record));
        var root = json.RootElement;
        _backbonePath = Path.Combine(folder, root.GetProperty("backbone").GetProperty("file").GetString()!);
        _headPath = Path.Combine(folder, root.GetProperty("head").GetProperty("file").GetString()!);
        _hidden = root.GetProperty("head").GetProperty("hidden").GetInt32();
        _output = root.GetProperty("head").GetProperty("output").GetInt32();
        SourceKnn = root.GetProperty("heldOutSourceKnn").GetDouble();
        Epochs = root.GetProperty("epochs").GetInt32();
    }

    /// <summary>Held-out source kNN the pretraining run reported.</summary>
    public double SourceKnn { get; }

    /// <summary>Pretraining epochs.</summary>
    public int Epochs { get; }

    /// <summary>The augmentation the model was pretrained with; its evaluation transform is used throughout.</summary>
    public TwoViewAugmentation Augmentation { get; } = AugmentationPresets.SmallImage(28, 1);

    public SmallCnn LoadBackbone()
    {
        var backbone = new SmallCnn(inputChannels: 1, featureDimension: 256);
        Checkpoint.LoadTorchSharp(backbone, _backbonePath);
        return backbone;
    }

    public ProjectionHead LoadHead()
    {
        var head = new ProjectionHead(256, _hidden, _output, batchNorm: false);
        Checkpoint.LoadTorchSharp(head, _headPath);
        return head;
    }
}
