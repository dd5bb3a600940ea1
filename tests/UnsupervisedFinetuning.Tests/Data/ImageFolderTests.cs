using Microsoft.Extensions.Logging;
using SkiaSharp;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

[TestFixture]
public sealed class ImageFolderTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static (byte R, byte G, byte B) Pattern(int x, int y, int seed) => TestImageFiles.Pattern(x, y, seed);

    private string WriteImage(string relative, int width, int height, SKEncodedImageFormat format, int seed = 0, Func<int, int, (byte R, byte G, byte B)>? pixel = null) =>
        TestImageFiles.Write(_dir.File(relative), width, height, format, pixel ?? ((x, y) => Pattern(x, y, seed)));

    [Test]
    public void LoadLabeled_PngClassFolders_DecodesExactPixelsAndSortsClasses()
    {
        WriteImage("root/zebra/a.png", 8, 8, SKEncodedImageFormat.Png, seed: 1);
        WriteImage("root/apple/b.png", 8, 8, SKEncodedImageFormat.Png, seed: 2);
        WriteImage("root/apple/a.png", 8, 8, SKEncodedImageFormat.Png, seed: 3);
        File.WriteAllText(_dir.File("root/apple/notes.txt"), "not an image, not listed");

        using var dataset = ImageFolder.LoadLabeled(_dir.File("root"), new ImageFolderOptions { Height = 8, Width = 8 });

        Assert.That(dataset.ClassNames, Is.EqualTo(new[] { "apple", "zebra" }));
        Assert.That(dataset.GetLabels(), Is.EqualTo(new[] { 0, 0, 1 }));
        // apple/a.png (seed 3) comes first: files are read in ordinal path order.
        using var first = dataset.GetImage(0);
        for (int y = 0; y < 8; y++)
        {
            for (int x = 0; x < 8; x++)
            {
                var (r, g, b) = Pattern(x, y, 3);
                Assert.That(new[] { first[0, y, x].item<byte>(), first[1, y, x].item<byte>(), first[2, y, x].item<byte>() }, Is.EqualTo(new[] { r, g, b }), $"pixel ({x},{y})");
            }
        }
    }

    [Test]
    public void LoadUnlabeled_Grayscale_UsesItuR601Luma()
    {
        WriteImage("flat/one.png", 4, 4, SKEncodedImageFormat.Png, pixel: (x, y) => ((byte)(x * 60), (byte)(y * 60), 200));

        using var dataset = ImageFolder.LoadUnlabeled(_dir.File("flat"), new ImageFolderOptions { Height = 4, Width = 4, Color = ImageColorMode.Grayscale });

        Assert.That(dataset.Shape, Is.EqualTo(new ImageShape(1, 4, 4)));
        using var image = dataset.GetImage(0);
        for (int y = 0; y < 4; y++)
        {
            for (int x = 0; x < 4; x++)
            {
                double luma = (0.299 * x * 60) + (0.587 * y * 60) + (0.114 * 200);
                Assert.That(image[0, y, x].item<byte>(), Is.EqualTo((byte)Math.Round(luma)), $"pixel ({x},{y})");
            }
        }
    }

    [Test]
    public void LoadUnlabeled_WideImageCenterCrop_KeepsTheMiddle()
    {
        // 16x8 image whose columns 0-3 and 12-15 are black and 4-11 white: scaled by 1 (height already 8),
        // the central 8x8 crop is all white.
        WriteImage("wide/w.png", 16, 8, SKEncodedImageFormat.Png, pixel: (x, _) => x is >= 4 and < 12 ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0));

        using var dataset = ImageFolder.LoadUnlabeled(_dir.File("wide"), new ImageFolderOptions { Height = 8, Width = 8, Color = ImageColorMode.Grayscale });

        using var image = dataset.GetImage(0);
        Assert.That(image.min().item<byte>(), Is.EqualTo(255));
    }

    [Test]
    public void LoadUnlabeled_Stretch_ResizesToTheTargetSize()
    {
        WriteImage("big/b.jpg", 40, 20, SKEncodedImageFormat.Jpeg, pixel: (_, _) => (120, 60, 30));

        using var dataset = ImageFolder.LoadUnlabeled(_dir.File("big"), new ImageFolderOptions { Height = 10, Width = 10, Resize = ImageResizeMode.Stretch });

        Assert.That(dataset.Shape, Is.EqualTo(new ImageShape(3, 10, 10)));
        using var image = dataset.GetImage(0).to(TorchSharp.torch.ScalarType.Float32);
        // JPEG is lossy: a flat colour survives within a few levels.
        Assert.That(image[0].mean().item<float>(), Is.EqualTo(120f).Within(4f));
        Assert.That(image[1].mean().item<float>(), Is.EqualTo(60f).Within(4f));
        Assert.That(image[2].mean().item<float>(), Is.EqualTo(30f).Within(4f));
    }

    [Test]
    public void Decode_TruncatedPng_NamesFileAndSaysTruncated()
    {
        string path = WriteImage("t/full.png", 32, 32, SKEncodedImageFormat.Png);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, new ImageFolderOptions { Height = 32, Width = 32 }));

        Assert.That(e!.Message, Does.Contain(path).And.Contain("truncated"));
    }

    [Test]
    public void Decode_TruncatedJpeg_NamesFileAndSaysTruncated()
    {
        string path = WriteImage("t/full.jpg", 32, 32, SKEncodedImageFormat.Jpeg);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, new ImageFolderOptions { Height = 32, Width = 32 }));

        Assert.That(e!.Message, Does.Contain(path).And.Contain("truncated"));
    }

    [Test]
    public void Decode_JpegMarkerFollowedByGarbage_NamesFile()
    {
        // A JPEG start-of-image marker and no frame: libjpeg tolerates damaged segments inside a real
        // JPEG (it skips to the next marker), but without a frame header there is nothing to decode.
        string path = _dir.File("t/garbage.jpg");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[512];
        new Random(3).NextBytes(bytes);
        bytes[0] = 0xFF;
        bytes[1] = 0xD8;
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, new ImageFolderOptions { Height = 32, Width = 32 }));

        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void LoadLabeled_OtherFiles_AreLeftOutAndLogged()
    {
        WriteImage("root/a/one.png", 4, 4, SKEncodedImageFormat.Png);
        WriteImage("root/b/two.jpg", 4, 4, SKEncodedImageFormat.Jpeg);
        File.WriteAllText(_dir.File("root/a/notes.txt"), "not an image");
        WriteImage("root/loose.png", 4, 4, SKEncodedImageFormat.Png);
        var logger = new ListLogger();

        using var dataset = ImageFolder.LoadLabeled(_dir.File("root"), new ImageFolderOptions { Height = 4, Width = 4 }, logger);

        Assert.That(dataset.Count, Is.EqualTo(2));
        Assert.That(logger.Entries.Select(e => e.Level), Is.All.EqualTo(LogLevel.Information));
        Assert.That(logger.Entries.Select(e => e.Message), Has.Some.Contain("notes.txt").And.Some.Contain("loose.png"));
    }

    [Test]
    public void Decode_GarbageWithPngExtension_NamesFile()
    {
        string path = _dir.File("garbage.png");
        File.WriteAllText(path, "definitely not a PNG");

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, new ImageFolderOptions()));

        Assert.That(e!.Message, Does.Contain(path).And.Contain("not an image"));
    }

    [Test]
    public void LoadLabeled_CorruptFileWithoutSkipping_Throws()
    {
        WriteImage("root/a/good.png", 4, 4, SKEncodedImageFormat.Png);
        File.WriteAllText(_dir.File("root/a/bad.png"), "broken");

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.LoadLabeled(_dir.File("root"), new ImageFolderOptions { Height = 4, Width = 4 }));

        Assert.That(e!.Message, Does.Contain("bad.png"));
    }

    [Test]
    public void LoadLabeled_CorruptFileWithSkipping_SkipsAndLogsIt()
    {
        WriteImage("root/a/good.png", 4, 4, SKEncodedImageFormat.Png);
        File.WriteAllText(_dir.File("root/a/bad.png"), "broken");
        var logger = new ListLogger();

        using var dataset = ImageFolder.LoadLabeled(_dir.File("root"), new ImageFolderOptions { Height = 4, Width = 4, SkipUnreadable = true }, logger);

        Assert.That(dataset.Count, Is.EqualTo(1));
        Assert.That(logger.Entries, Has.Count.EqualTo(1));
        Assert.That(logger.Entries[0].Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(logger.Entries[0].Message, Does.Contain("bad.png"));
    }

    [Test]
    public void LoadLabeled_EmptyClassFolder_NamesIt()
    {
        WriteImage("root/a/x.png", 4, 4, SKEncodedImageFormat.Png);
        Directory.CreateDirectory(_dir.File("root/empty"));

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.LoadLabeled(_dir.File("root"), new ImageFolderOptions { Height = 4, Width = 4 }));

        Assert.That(e!.Message, Does.Contain("empty").And.Contain("no readable"));
    }

    [Test]
    public void LoadUnlabeled_EmptyFolder_Throws()
    {
        Directory.CreateDirectory(_dir.File("nothing"));

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.LoadUnlabeled(_dir.File("nothing")));

        Assert.That(e!.Message, Does.Contain("no readable"));
    }

    [Test]
    public void LoadLabeled_NoClassFolders_ExplainsTheLayout()
    {
        WriteImage("flatroot/x.png", 4, 4, SKEncodedImageFormat.Png);

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.LoadLabeled(_dir.File("flatroot")));

        Assert.That(e!.Message, Does.Contain("root/<class>/<image>"));
    }

    [Test]
    public void LoadUnlabeled_MissingRoot_Throws()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.LoadUnlabeled(_dir.File("absent")));
        Assert.That(e!.Message, Does.Contain("Image folder not found").And.Contain(_dir.File("absent")));
    }

    [Test]
    public void Options_InvalidHeight_NamesTheOption()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFolderOptions { Height = 0 }.Validate());

        Assert.That(e!.Message, Does.Contain("ImageFolderOptions.Height"));
    }

    [TestCase(20_000, 20_000)]
    [TestCase(100_000, 100_000)]
    public void Decode_PngThatLiesAboutItsSize_IsRefusedBeforeAllocating(int width, int height)
    {
        // Regression: a 118-byte PNG declaring 20000x20000 cost 1.6 GB and 6 s before "truncated"; one declaring
        // 100000x100000 threw a raw System.Exception that SkipUnreadable did not catch.
        string path = _dir.File($"liar-{width}.png");
        File.WriteAllBytes(path, LyingPng(width, height));

        InvalidDataException? e = null;
        double added = PeakMemory.MegabytesAdded(() => e = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, new ImageFolderOptions())));

        // The pixel buffer would be native (SkiaSharp): the process's peak resident memory is the evidence.
        Assert.That(e!.Message, Does.Contain(path).And.Contain($"declares {width}x{height}").And.Contain("MaxDecodedPixels"));
        Assert.That(added, Is.LessThan(16), "MB of peak resident memory added: refused from the header (the allocating attempt took 1.6 GB)");
    }

    [Test]
    public void Decode_LargeJpeg_DecodesAtAScaleThatCoversTheWorkingSize()
    {
        // A 4000x3000 photo for a 32x32 dataset decodes at 1/8 (500x375, 0.75 MB), not at full size (48 MB),
        // and the result is the same picture: a horizontal ramp of grey.
        string path = _dir.File("big.jpg");
        using (var bitmap = new SKBitmap(new SKImageInfo(4000, 3000, SKColorType.Gray8, SKAlphaType.Opaque)))
        {
            var ramp = bitmap.GetPixelSpan();
            for (int i = 0; i < ramp.Length; i++)
            {
                ramp[i] = (byte)(i % 4000 * 255 / 3999);
            }

            using var encoded = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
            File.WriteAllBytes(path, encoded.ToArray());
        }

        var options = new ImageFolderOptions { Height = 32, Width = 32, Color = ImageColorMode.Grayscale };
        Decode(path, options); // SkiaSharp's one-time costs are not the decode's

        byte[] pixels = [];
        double added = PeakMemory.MegabytesAdded(() => pixels = Decode(path, options));

        Assert.That(added, Is.LessThan(16), "MB of peak resident memory added");
        // Centre crop of a 4:3 ramp: columns span x ∈ [500, 3500) of 4000, i.e. grey 32..223.
        for (int column = 0; column < 32; column++)
        {
            double expected = (500 + ((column + 0.5) * 3000 / 32)) * 255 / 3999;
            Assert.That(pixels[(16 * 32) + column], Is.EqualTo(expected).Within(6), $"column {column}");
        }
    }

    private static byte[] Decode(string path, ImageFolderOptions options) => ImageFolder.Decode(path, options);

    [Test]
    public void LoadUnlabeled_LyingPngWithSkipping_SkipsItAndKeepsTheRest()
    {
        WriteImage("root/good.png", 4, 4, SKEncodedImageFormat.Png);
        File.WriteAllBytes(_dir.File("root/liar.png"), LyingPng(100_000, 100_000));
        var logger = new ListLogger();

        using var dataset = ImageFolder.LoadUnlabeled(_dir.File("root"), new ImageFolderOptions { Height = 4, Width = 4, SkipUnreadable = true }, logger);

        Assert.That(dataset.Count, Is.EqualTo(1));
        Assert.That(logger.Entries, Has.One.Matches<(LogLevel Level, string Message)>(entry => entry.Message.Contains("liar.png", StringComparison.Ordinal) && entry.Message.Contains("MaxDecodedPixels", StringComparison.Ordinal)));
    }

    [Test]
    public void Decode_ImageWithinALoweredLimit_IsRefusedAndWithinTheDefault_Decodes()
    {
        string path = WriteImage("photo.png", 40, 30, SKEncodedImageFormat.Png);

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, new ImageFolderOptions { MaxDecodedPixels = 1000 }));

        Assert.That(e!.Message, Does.Contain("declares 40x30 = 1,200 pixels; at most ImageFolderOptions.MaxDecodedPixels = 1,000"));
        Assert.That(ImageFolder.Decode(path, new ImageFolderOptions { Height = 8, Width = 8 }), Has.Length.EqualTo(3 * 8 * 8));
    }

    /// <summary>A PNG with a valid signature and IHDR declaring <paramref name="width"/>×<paramref name="height"/> RGB, one empty IDAT and IEND: under 100 bytes.</summary>
    private static byte[] LyingPng(int width, int height) =>
    [
        .. PngBytes.Signature,
        .. PngBytes.Chunk("IHDR", [.. PngBytes.BigEndian(width), .. PngBytes.BigEndian(height), 8, 2, 0, 0, 0]), // 8-bit RGB
        .. PngBytes.Chunk("IDAT", [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),                             // an empty zlib stream
        .. PngBytes.Chunk("IEND", []),
    ];
}
