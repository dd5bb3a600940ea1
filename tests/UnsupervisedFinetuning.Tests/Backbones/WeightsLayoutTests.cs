using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// The state dict computed from a description (what <see cref="PretrainedModel.Load"/> checks weights files against
/// before building anything) against the naive reference: build the network and list its state dict.
/// </summary>
[TestFixture]
public sealed class WeightsLayoutTests
{
    public static IEnumerable<TestCaseData> Backbones()
    {
        foreach (int features in new[] { 32, 256 })
        {
            foreach (int channels in new[] { 1, 3 })
            {
                yield return new TestCaseData(new BackboneDescription("SmallCnn", channels, features)).SetName($"SmallCnn_{features}_in{channels}");
            }
        }

        yield return new TestCaseData(new BackboneDescription("SmallCnn", 1, 32) { Classes = 10 }).SetName("SmallCnn_32_classes10");
        foreach (var depth in Enum.GetValues<ResNetDepth>())
        {
            foreach (var stem in Enum.GetValues<ResNetStem>())
            {
                foreach (int width in new[] { 8, 64 })
                {
                    foreach (int? classes in new int?[] { null, 10 })
                    {
                        int features = width * (depth == ResNetDepth.ResNet50 ? 32 : 8);
                        var description = new BackboneDescription(depth.ToString(), 3, features) { Stem = stem, Width = width, Classes = classes };
                        yield return new TestCaseData(description).SetName($"{depth}_{stem}_w{width}{(classes is null ? "" : "_classes10")}");
                    }
                }
            }
        }

        yield return new TestCaseData(new BackboneDescription("ResNet18", 1, 64) { Width = 8 }).SetName("ResNet18_DefaultStem_Gray_w8");
    }

    public static IEnumerable<TestCaseData> Heads()
    {
        foreach (int hiddenLayers in new[] { 0, 1, 2, 3 })
        {
            foreach (bool batchNorm in new[] { false, true })
            {
                foreach (bool outputBatchNorm in new[] { false, true })
                {
                    yield return new TestCaseData(new HeadDescription(24, 40, 16, batchNorm, hiddenLayers, outputBatchNorm))
                        .SetName($"Head_{hiddenLayers}Hidden{(batchNorm ? "_BN" : "")}{(outputBatchNorm ? "_OutputBN" : "")}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Backbones))]
    public void Backbone_LayoutIsTheBuiltNetworksStateDict(BackboneDescription description)
    {
        using var backbone = Build(description);

        AssertSameStateDict(WeightsLayout.Of(description), backbone);
    }

    [TestCaseSource(nameof(Heads))]
    public void Head_LayoutIsTheBuiltHeadsStateDict(HeadDescription h)
    {
        using var head = new ProjectionHead(h.Input, h.Hidden, h.Output, h.BatchNorm, h.HiddenLayers, h.OutputBatchNorm);

        AssertSameStateDict(WeightsLayout.Of(h), head);
    }

    [TestCase("SmallCnn", 256, null)]
    [TestCase("ResNet18", 8, 10)]
    [TestCase("ResNet50", 8, null)]
    public void Bytes_AreWhatCheckpointSaveWritesBesidesNamesAndShapes(string architecture, int size, int? classes)
    {
        var description = architecture == "SmallCnn"
            ? new BackboneDescription(architecture, 1, size) { Classes = classes }
            : new BackboneDescription(architecture, 3, size * (architecture == "ResNet50" ? 32 : 8)) { Stem = ResNetStem.SmallImage, Width = size, Classes = classes };
        using var backbone = Build(description);
        using var dir = new TempDirectory();
        Checkpoint.Save(backbone, dir.File("w.dat"));
        var layout = WeightsLayout.Of(description);

        long overhead = new FileInfo(dir.File("w.dat")).Length - WeightsLayout.Bytes(layout);

        // Each tensor adds its name (≤ 40 bytes here) and a header of at most 2 + 5 × 4 bytes.
        Assert.That(overhead, Is.GreaterThan(0).And.LessThan(64 * layout.Count), "the file holds every tensor's bytes and little else");
    }

    private static Backbone Build(BackboneDescription d)
    {
        Backbone backbone = d.Architecture == "SmallCnn"
            ? new SmallCnn(d.InputChannels, d.FeatureDimension)
            : new ResNet(Enum.Parse<ResNetDepth>(d.Architecture), d.Stem ?? ResNetStem.ImageNet, d.InputChannels, d.Width ?? 64);
        if (d.Classes is { } classes)
        {
            backbone.ReplaceClassifier(classes);
        }

        Assert.That(backbone.FeatureDimension, Is.EqualTo(d.FeatureDimension), "the test's description is the built network's");
        return backbone;
    }

    // The naive reference: the built module's state dict, name by name, and its bytes summed from the tensors themselves.
    private static void AssertSameStateDict(IReadOnlyList<TensorLayout> layout, nn.Module module)
    {
        var state = module.state_dict();
        var expected = state.ToDictionary(kv => kv.Key, kv => $"{kv.Value.dtype} [{string.Join(", ", kv.Value.shape)}]");
        var computed = layout.ToDictionary(t => t.Name, t => $"{t.Type} [{string.Join(", ", t.Shape)}]");
        long bytes = state.Values.Sum(t => t.numel() * t.element_size());

        Assert.That(computed, Is.EquivalentTo(expected));
        Assert.That(WeightsLayout.Bytes(layout), Is.EqualTo(bytes));
    }
}
