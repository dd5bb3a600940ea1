using System.Globalization;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// The shipped source model (samples/data/pretrained), as samples/Pretrain saved it: a self-describing
/// <see cref="PretrainedModel"/> (a SmallCnn of 256 features and its MoCo v2 projection head).
/// </summary>
internal sealed class SourceModel
{
    public const string FileName = "smallcnn256-moco-fashion0to4.model.json";

    private readonly string _path;

    public SourceModel(DirectoryInfo data)
    {
        _path = Path.Combine(data.FullName, "pretrained", FileName);
        if (!File.Exists(_path))
        {
            throw new FileNotFoundException($"The pretrained source model is missing: {_path} not found. Run `dotnet run -c Release --project samples/Pretrain` first.", _path);
        }

        using var model = PretrainedModel.Load(_path);
        var provenance = model.Description.Provenance;
        SourceKnn = double.Parse(provenance["heldOutSourceKnn"], CultureInfo.InvariantCulture);
        Epochs = int.Parse(provenance["epochs"], CultureInfo.InvariantCulture);
    }

    /// <summary>Held-out source kNN the pretraining run reported.</summary>
    public double SourceKnn { get; }

    /// <summary>Pretraining epochs.</summary>
    public int Epochs { get; }

    /// <summary>The augmentation the model was pretrained with; its evaluation transform is used throughout.</summary>
    public TwoViewAugmentation Augmentation { get; } = AugmentationPresets.SmallImage(28, 1);

    /// <summary>A fresh copy of the model (backbone and head), owned by the caller.</summary>
    public PretrainedModel Load() => PretrainedModel.Load(_path);
}
