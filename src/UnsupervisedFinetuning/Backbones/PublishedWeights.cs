namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// The public checkpoints this library knows by name (<see cref="PublishedWeightsEntry"/>). URLs and digests are
/// copied from the publishers' own sources, named in each entry's <see cref="WeightsIntegrity.Source"/>; nothing
/// is computed from a downloaded file. Add one of your own with <c>PublishedWeights.BuiltIn.With(entry)</c>.
/// </summary>
public static class PublishedWeights
{
    // torchvision's ImageClassification preset (resize 256, centre crop 224, ImageNet mean/std); MoCo's, DINO's and
    // DINOv2's evaluation transforms are the same.
    private static readonly InputDescription ImageNet224 = InputDescription.ImageNet(224);

    // torch.hub.load_state_dict_from_url(check_hash=True) reads the hex digits after the last '-' of the file name
    // (HASH_REGEX = r'-([a-f0-9]*)\.') and compares them with the start of the file's SHA-256.
    private const string TorchvisionSource = "torchvision 0.14 models/resnet.py, {0}.IMAGENET1K_V1: the first 8 hex digits of the SHA-256 are in the file name (torch.hub's check_hash convention); no full digest or size is published.";

    private const string MocoSource = "facebookresearch/moco README.md, pre-trained models table: the 'md5' column states the first 8 hex digits; no size is published.";

    private const string DinoSource = "facebookresearch/dino README.md and hubconf.py: no digest or size is published.";

    private const string Dinov2Source = "facebookresearch/dinov2 README.md and dinov2/hub/backbones.py: no digest or size is published.";

    /// <summary>
    /// torchvision's supervised ImageNet ResNet-18, -34 and -50 (<c>IMAGENET1K_V1</c>), MoCo v2 ResNet-50 (200 and 800
    /// epochs), DINO ResNet-50, and DINOv2 ViT-S/14 and ViT-B/14 (their architectures "vit-s14" and "vit-b14" are not
    /// in <see cref="ArchitectureCatalog"/> yet), in that order.
    /// </summary>
    public static Catalog<PublishedWeightsEntry> BuiltIn { get; } = new(
    [
        Torchvision("resnet18", "ResNet18_Weights", "f37072fd", "torchvision's ResNet-18 trained supervised on ImageNet-1k (IMAGENET1K_V1, 69.8% top-1)."),
        Torchvision("resnet34", "ResNet34_Weights", "b627a593", "torchvision's ResNet-34 trained supervised on ImageNet-1k (IMAGENET1K_V1, 73.3% top-1)."),
        Torchvision("resnet50", "ResNet50_Weights", "0676ba61", "torchvision's ResNet-50 trained supervised on ImageNet-1k (IMAGENET1K_V1, 76.1% top-1)."),
        Moco("200ep", "59fd9945", "MoCo v2 ResNet-50, 200 epochs self-supervised on ImageNet-1k (67.7% linear top-1); the query encoder's weights under module.encoder_q."),
        Moco("800ep", "a04e12f8", "MoCo v2 ResNet-50, 800 epochs self-supervised on ImageNet-1k (71.1% linear top-1); the query encoder's weights under module.encoder_q."),
        new(
            "dino-resnet50",
            "DINO ResNet-50 backbone, self-distilled on ImageNet-1k (75.3% linear top-1); no classifier.",
            new Uri("https://dl.fbaipublicfiles.com/dino/dino_resnet50_pretrain/dino_resnet50_pretrain.pth"),
            "dino_resnet50_pretrain.pth",
            "resnet50",
            WeightsIntegrity.Unpublished(DinoSource),
            ImageNet224),
        Dinov2("vits14", "vit-s14", "DINOv2 ViT-S/14 backbone (distilled, LVD-142M; 81.1% ImageNet linear top-1); no head."),
        Dinov2("vitb14", "vit-b14", "DINOv2 ViT-B/14 backbone (distilled, LVD-142M; 84.5% ImageNet linear top-1); no head."),
    ]);

    private static PublishedWeightsEntry Torchvision(string arch, string weightsClass, string sha256Prefix, string description)
    {
        string file = $"{arch}-{sha256Prefix}.pth";
        return new(
            $"{arch}-imagenet",
            description,
            new Uri($"https://download.pytorch.org/models/{file}"),
            file,
            arch,
            WeightsIntegrity.Sha256(sha256Prefix, string.Format(System.Globalization.CultureInfo.InvariantCulture, TorchvisionSource, weightsClass)),
            ImageNet224);
    }

    private static PublishedWeightsEntry Moco(string epochs, string md5Prefix, string description)
    {
        string file = $"moco_v2_{epochs}_pretrain.pth.tar";
        return new(
            $"mocov2-resnet50-{epochs}",
            description,
            new Uri($"https://dl.fbaipublicfiles.com/moco/moco_checkpoints/moco_v2_{epochs}/{file}"),
            file,
            "resnet50",
            WeightsIntegrity.Md5(md5Prefix, MocoSource),
            ImageNet224);
    }

    // dinov2/hub: _DINOV2_BASE_URL + f"/{model_base_name}/{model_full_name}_pretrain.pth", base name "dinov2_vits14".
    private static PublishedWeightsEntry Dinov2(string model, string architecture, string description)
    {
        string file = $"dinov2_{model}_pretrain.pth";
        return new(
            $"dinov2-{model}",
            description,
            new Uri($"https://dl.fbaipublicfiles.com/dinov2/dinov2_{model}/{file}"),
            file,
            architecture,
            WeightsIntegrity.Unpublished(Dinov2Source),
            ImageNet224);
    }
}
