using SkiaSharp;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

[TestFixture]
public sealed class ImageManifestTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Image(string relative, int seed) =>
        TestImageFiles.Write(_dir.File(relative), 8, 8, SKEncodedImageFormat.Png, (x, y) => TestImageFiles.Pattern(x, y, seed));

    [Test]
    public void ReadLabeled_TabSeparated_RelativePathsCommentsAndNumericClassOrder()
    {
        string a = Image("images/a.png", 1);
        string b = Image("images/b.png", 2);
        string c = Image("other/c.png", 3);
        File.WriteAllText(_dir.File("list.tsv"), "# path\tlabel\n\nimages/a.png\t10\r\nimages/b.png\t2\n" + c + "\t10");

        var dataset = ImageManifest.ReadLabeled(_dir.File("list.tsv"), new ImageFolderOptions { Height = 8, Width = 8 });

        Assert.That(dataset.Images.Files, Is.EqualTo(new[] { a, b, c }));
        Assert.That(dataset.ClassNames, Is.EqualTo(new[] { "2", "10" }), "integer labels in numeric order, not ordinal");
        Assert.That(dataset.Labels, Is.EqualTo(new[] { 1, 0, 1 }));
        using var batch = dataset.GetBatch([1]);
        Assert.That(batch.contiguous().bytes.ToArray(), Is.EqualTo(ImageFolder.Decode(b, new ImageFolderOptions { Height = 8, Width = 8 })));
    }

    [Test]
    public void ReadLabeled_Csv_HeaderSkippedAndSplitAtTheLastComma()
    {
        string a = Image("x,y/a.png", 1);
        Image("b.png", 2);
        File.WriteAllText(_dir.File("list.csv"), "path,label\nx,y/a.png,screw\nb.png,bolt\n");

        var dataset = ImageManifest.ReadLabeled(_dir.File("list.csv"));

        Assert.That(dataset.Images.Files[0], Is.EqualTo(a));
        Assert.That(dataset.ClassNames, Is.EqualTo(new[] { "bolt", "screw" }));
        Assert.That(dataset.Labels, Is.EqualTo(new[] { 1, 0 }));
    }

    [Test]
    public void Read_IgnoresALabelColumn()
    {
        Image("a.png", 1);
        File.WriteAllText(_dir.File("list.txt"), "a.png\tcat\na.png\n");

        var dataset = ImageManifest.Read(_dir.File("list.txt"));

        Assert.That(dataset.Count, Is.EqualTo(2));
    }

    [Test]
    public void ReadLabeled_LineWithoutLabel_NamesTheLine()
    {
        Image("a.png", 1);
        File.WriteAllText(_dir.File("list.txt"), "a.png\tcat\n\na.png\n");

        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.ReadLabeled(_dir.File("list.txt")));

        Assert.That(e!.Message, Does.Contain("list.txt:3").And.Contain("no label"));
    }

    [Test]
    public void Read_MissingImage_NamesTheLineAndThePath()
    {
        Image("a.png", 1);
        File.WriteAllText(_dir.File("list.txt"), "a.png\nmissing.png\n");

        var e = Assert.Throws<FileNotFoundException>(() => ImageManifest.Read(_dir.File("list.txt")));

        Assert.That(e!.Message, Does.Contain("list.txt:2").And.Contain("missing.png"));
    }

    [Test]
    public void Read_MissingImageWhenSkipping_IsLeftOut()
    {
        string a = Image("a.png", 1);
        File.WriteAllText(_dir.File("list.txt"), "missing.png\na.png\n");

        var dataset = ImageManifest.Read(_dir.File("list.txt"), new ImageFolderOptions { SkipUnreadable = true });

        Assert.That(dataset.Files, Is.EqualTo(new[] { a }));
    }

    [Test]
    public void Read_OverlongLine_IsRefusedWithoutReadingItWhole()
    {
        // One 50 MB "line": refused after MaxLineLength characters, naming the line.
        using (var writer = new StreamWriter(_dir.File("list.txt")))
        {
            writer.WriteLine("a.png");
            writer.Write(new string('x', 50_000_000));
        }

        Image("a.png", 1);
        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.Read(_dir.File("list.txt")));

        Assert.That(e!.Message, Does.Contain("list.txt:2").And.Contain($"{ImageManifest.MaxLineLength}"));
    }

    [Test]
    public void Read_OnlyComments_SaysItListsNoImages()
    {
        File.WriteAllText(_dir.File("list.txt"), "# nothing yet\n\n");

        var e = Assert.Throws<InvalidDataException>(() => ImageManifest.Read(_dir.File("list.txt")));

        Assert.That(e!.Message, Does.Contain("lists no images"));
    }
}
