using System.Diagnostics;
using SkiaSharp;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

public sealed class ManifestConfinementTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Image(string relative)
    {
        string path = _dir.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return TestImageFiles.Write(path, 4, 4, SKEncodedImageFormat.Png, (x, y) => TestImageFiles.Pattern(x, y, 1));
    }

    private string Manifest(string text)
    {
        string path = _dir.File("data/list.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static ImageFolderOptions Confined(bool confine = true) => new() { Height = 4, Width = 4, ConfineManifestPaths = confine };

    [Test]
    public void Read_Confined_AcceptsFilesInsideTheFolder()
    {
        Image("data/a.png");
        Image("data/sub/b.png");

        var dataset = ImageManifest.Read(Manifest("a.png\nsub/b.png\n"), Confined());

        Assert.That(dataset.Count, Is.EqualTo(2));
    }

    [TestCase("../outside.png", "lies outside the manifest's folder")]
    [TestCase("sub/../../outside.png", "lies outside the manifest's folder")]
    public void Read_Confined_RefusesAPathThatLeavesTheFolder(string line, string why)
    {
        Image("outside.png");
        string manifest = Manifest("# a comment\n" + line + "\n");

        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.Read(manifest, Confined()));

        Assert.That(e!.Message, Does.StartWith($"{manifest}:2: '{line}' {why}; ImageFolderOptions.ConfineManifestPaths admits only files inside the manifest's folder"));
        var unconfined = ImageManifest.Read(manifest, Confined(false));
        Assert.That(unconfined.Count, Is.EqualTo(1), "without the option a manifest may list any file");
    }

    [Test]
    public void Read_Confined_RefusesAnAbsolutePathElsewhere()
    {
        string outside = Image("outside.png");
        string manifest = Manifest(outside + "\n");

        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.Read(manifest, Confined()));

        Assert.That(e!.Message, Does.StartWith($"{manifest}:1: '{outside}' lies outside the manifest's folder"));
    }

    [Test]
    [Platform("Linux", Reason = "symbolic links")]
    public void Read_Confined_RefusesALinkLeadingOut()
    {
        Image("secret/key.png");
        Directory.CreateDirectory(_dir.File("data"));
        using (var ln = Process.Start("ln", ["-s", "../secret", _dir.File("data/door")])!)
        {
            ln.WaitForExit();
        }

        string manifest = Manifest("door/key.png\n");

        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.Read(manifest, Confined()));

        Assert.That(e!.Message, Does.StartWith($"{manifest}:1: 'door/key.png' is a symbolic link (or inside one) to {_dir.File("secret/key.png")}, outside the manifest's folder"));
    }

    [Test]
    public void Read_ALineWithANul_IsRefusedNamingTheLine()
    {
        Image("data/a.png");
        string manifest = Manifest("a.png\nb\0c.png\n");

        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.Read(manifest, Confined(false)));

        Assert.That(e!.Message, Is.EqualTo($"{manifest}:2: the path contains a NUL character ('b?c.png'); a manifest line is a path, optionally a tab and a label."));
    }
}
