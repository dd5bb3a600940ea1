using UnsupervisedFinetuning.Backbones;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// The built-in published weights: every entry's URL is its publisher's, its file name is the URL's, what it states
/// about the content is the publisher's (torchvision's SHA-256 prefix is the one in the file name), and an entry
/// whose architecture the catalog lacks says so by name when used.
/// </summary>
[TestFixture]
public sealed class PublishedWeightsTests
{
    [Test]
    public void BuiltIn_HasTheKnownCheckpointsInOrder() =>
        Assert.That(PublishedWeights.BuiltIn.Names, Is.EqualTo(new[]
        {
            "resnet18-imagenet", "resnet34-imagenet", "resnet50-imagenet", "mocov2-resnet50-200ep", "mocov2-resnet50-800ep",
            "dino-resnet50", "dinov2-vits14", "dinov2-vitb14",
        }));

    [Test]
    public void BuiltIn_EveryEntry_IsHttpsFromItsPublisherAndNamedAfterItsUrl()
    {
        foreach (var entry in PublishedWeights.BuiltIn)
        {
            Assert.That(entry.Url.Scheme, Is.EqualTo("https"), entry.Name);
            Assert.That(entry.Url.Host, Is.AnyOf("download.pytorch.org", "dl.fbaipublicfiles.com"), entry.Name);
            Assert.That(entry.Url.Segments[^1], Is.EqualTo(entry.FileName), entry.Name);
            Assert.That(entry.Integrity.Source, Is.Not.Empty, entry.Name);
            Assert.That(entry.Input, Is.EqualTo(InputDescription.ImageNet(224)).Using<InputDescription>(SameInput), entry.Name);
        }
    }

    [TestCase("resnet18-imagenet", "https://download.pytorch.org/models/resnet18-f37072fd.pth", "f37072fd")]
    [TestCase("resnet50-imagenet", "https://download.pytorch.org/models/resnet50-0676ba61.pth", "0676ba61")]
    public void Torchvision_StatesTheSha256PrefixOfItsFileName(string name, string url, string prefix)
    {
        var entry = PublishedWeights.BuiltIn.Get(name);

        Assert.That(entry.Url.ToString(), Is.EqualTo(url));
        Assert.That(entry.Integrity.Kind, Is.EqualTo(WeightsIntegrityKind.Sha256));
        Assert.That(entry.Integrity.ExpectedDigest, Is.EqualTo(prefix));
        Assert.That(entry.Integrity.IsPrefix, Is.True);
        Assert.That(entry.Integrity.ToString(), Is.EqualTo($"SHA-256 starting with {prefix}"));
    }

    [Test]
    public void MocoV2_800ep_StatesTheMd5PrefixOfTheReadme()
    {
        var entry = PublishedWeights.BuiltIn.Get("mocov2-resnet50-800ep");

        Assert.That(entry.Url.ToString(), Is.EqualTo("https://dl.fbaipublicfiles.com/moco/moco_checkpoints/moco_v2_800ep/moco_v2_800ep_pretrain.pth.tar"));
        Assert.That(entry.Integrity.Kind, Is.EqualTo(WeightsIntegrityKind.Md5));
        Assert.That(entry.Integrity.ExpectedDigest, Is.EqualTo("a04e12f8"));
        Assert.That(entry.GetArchitecture().Name, Is.EqualTo("resnet50"));
    }

    [Test]
    public void Dinov2_VitS14_ResolvesToTheVitOfItsShape()
    {
        var entry = PublishedWeights.BuiltIn.Get("dinov2-vits14");

        Assert.That(entry.Url.ToString(), Is.EqualTo("https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth"));
        Assert.That(entry.Integrity.Kind, Is.EqualTo(WeightsIntegrityKind.Unpublished));
        Assert.That(entry.GetArchitecture().Architecture, Is.EqualTo("ViT-S14"));
        Assert.That(entry.GetArchitecture().DefaultBackbone.FeatureDimension, Is.EqualTo(384));
    }

    [Test]
    public void AnEntryWhoseArchitectureTheCatalogLacks_SaysSoNamingBoth()
    {
        var entry = PublishedWeights.BuiltIn.Get("dinov2-vits14");
        var withoutVits = new Catalog<ArchitectureEntry>(ArchitectureCatalog.BuiltIn.Where(a => !a.Name.StartsWith("vit", StringComparison.Ordinal)));

        Assert.That(entry.FindArchitecture(withoutVits), Is.Null);
        var e = Assert.Throws<NotSupportedException>(() => entry.GetArchitecture(withoutVits));
        Assert.That(e!.Message, Does.Contain("'dinov2-vits14'").And.Contain("'vit-s14'").And.Contain("resnet50"));
    }

    [TestCase("resnet18-imagenet", "resnet18")]
    [TestCase("dino-resnet50", "resnet50")]
    public void ResNetEntries_ResolveToTheCatalogsArchitecture(string name, string architecture) =>
        Assert.That(PublishedWeights.BuiltIn.Get(name).GetArchitecture().Name, Is.EqualTo(architecture));

    [TestCase("../evil.pth")]
    [TestCase("sub/dir.pth")]
    [TestCase("..")]
    public void Entry_FileNameWithAFolder_IsRefused(string fileName) =>
        Assert.That(
            () => new PublishedWeightsEntry("x", "x.", new Uri("https://example.org/a.pth"), fileName, "resnet18", WeightsIntegrity.Unpublished("x"), InputDescription.ImageNet(224)),
            Throws.ArgumentException.With.Message.Contain("plain file name"));

    [TestCase("1234567")]
    [TestCase("not-hex-at-all")]
    public void Sha256_ShortOrNonHexDigest_IsRefused(string hex) =>
        Assert.That(() => WeightsIntegrity.Sha256(hex, "x"), Throws.ArgumentException.With.Message.Contain("8 to 64 hex digits"));

    private static bool SameInput(InputDescription a, InputDescription b) =>
        a.Height == b.Height && a.Width == b.Width && a.Mean.SequenceEqual(b.Mean) && a.Std.SequenceEqual(b.Std);
}
