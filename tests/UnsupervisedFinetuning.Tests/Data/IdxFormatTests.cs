using System.IO.Compression;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

[TestFixture]
public sealed class IdxFormatTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static byte[] Pixels(int count, int height, int width) =>
        Enumerable.Range(0, count * height * width).Select(i => (byte)((i * 7) + (i / 13))).ToArray();

    // Writes an IDX file by hand from the format description, independently of IdxFormat.Write*.
    private static byte[] HandWritten(byte type, int[] dims, byte[] data)
    {
        var bytes = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (int d in dims)
        {
            bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        }

        bytes.AddRange(data);
        return [.. bytes];
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
        {
            gz.Write(raw);
        }

        return output.ToArray();
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LoadLabeled_HandWrittenFiles_RoundTripPixelsAndLabels(bool gzip)
    {
        byte[] pixels = Pixels(5, 4, 3);
        byte[] labels = [3, 0, 9, 9, 1];
        byte[] images = HandWritten(0x08, [5, 4, 3], pixels);
        byte[] labelFile = HandWritten(0x08, [5], labels);
        File.WriteAllBytes(_dir.File("img.idx"), gzip ? Gzip(images) : images);
        File.WriteAllBytes(_dir.File("lbl.idx"), gzip ? Gzip(labelFile) : labelFile);

        using var dataset = IdxFormat.LoadLabeled(_dir.File("img.idx"), _dir.File("lbl.idx"));

        Assert.That(dataset.Count, Is.EqualTo(5));
        Assert.That(dataset.Shape, Is.EqualTo(new ImageShape(1, 4, 3)));
        Assert.That(dataset.ClassCount, Is.EqualTo(10));
        Assert.That(dataset.GetLabels(), Is.EqualTo(labels.Select(b => (int)b)));
        Assert.That(dataset.Images.data<byte>().ToArray(), Is.EqualTo(pixels));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void WriteImagesAndLabels_ThenLoad_RoundTrips(bool gzip)
    {
        byte[] pixels = Pixels(6, 5, 5);
        IdxFormat.WriteImages(_dir.File("i"), pixels, 6, 5, 5, gzip);
        IdxFormat.WriteLabels(_dir.File("l"), new byte[] { 0, 1, 2, 0, 1, 2 }, gzip);

        using var dataset = IdxFormat.LoadLabeled(_dir.File("i"), _dir.File("l"), classCount: 3, classNames: ["a", "b", "c"]);

        Assert.That(dataset.Images.data<byte>().ToArray(), Is.EqualTo(pixels));
        Assert.That(dataset.ClassNames, Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(File.ReadAllBytes(_dir.File("i"))[..2], gzip ? Is.EqualTo(new byte[] { 0x1f, 0x8b }) : Is.EqualTo(new byte[] { 0, 0 }));
    }

    [Test]
    public void ReadImages_SizesWhoseProductOverflowsALong_AreRefused()
    {
        // Regression (fuzzing): (2³¹ − 1)³ overflowed the byte count, and new byte[negative] threw OverflowException.
        string path = Path.Combine(_dir.Path, "overflow.idx");
        File.WriteAllBytes(path, HandWritten(0x08, [int.MaxValue, int.MaxValue, int.MaxValue], new byte[16]));

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(path));

        Assert.That(e!.Message, Does.StartWith(path).And.Contain("which needs more than 2⁶³ bytes"));
    }

    [Test]
    public void ReadImages_BadMagic_NamesFileAndMagic()
    {
        byte[] file = HandWritten(0x08, [1, 2, 2], new byte[4]);
        file[0] = 0x12;
        File.WriteAllBytes(_dir.File("bad"), file);

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(_dir.File("bad")));

        Assert.That(e!.Message, Does.Contain(_dir.File("bad")).And.Contain("magic 0x12000803").And.Contain("offset 0"));
    }

    [Test]
    public void ReadImages_LabelsFilePassedAsImages_ReportsDimensionCount()
    {
        File.WriteAllBytes(_dir.File("labels"), HandWritten(0x08, [3], [1, 2, 3]));

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(_dir.File("labels")));

        Assert.That(e!.Message, Does.Contain("1 dimensions").And.Contain("expected 3"));
    }

    [Test]
    public void ReadImages_NonByteType_IsRejected()
    {
        File.WriteAllBytes(_dir.File("f"), HandWritten(0x0D, [1, 1, 1], new byte[4]));

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(_dir.File("f")));

        Assert.That(e!.Message, Does.Contain("data type 0x0D at offset 2"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadImages_Truncated_ReportsExpectedAndActualLength(bool gzip)
    {
        byte[] full = HandWritten(0x08, [4, 3, 3], Pixels(4, 3, 3));
        byte[] cut = full[..(full.Length - 5)];
        File.WriteAllBytes(_dir.File("cut"), gzip ? Gzip(cut) : cut);

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(_dir.File("cut")));

        Assert.That(e!.Message, Does.Contain(_dir.File("cut")).And.Contain("needs 36 bytes").And.Contain("but 31 bytes follow").And.Contain("truncated"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LoadImages_Truncated_NamesTheFileAndWhatTheHeaderClaimed(bool gzip)
    {
        // LoadImages reads straight into the dataset's tensor (the data is held once), so its truncation path is its own.
        byte[] full = HandWritten(0x08, [4, 3, 3], Pixels(4, 3, 3));
        byte[] cut = full[..(full.Length - 5)];
        File.WriteAllBytes(_dir.File("cut"), gzip ? Gzip(cut) : cut);

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.LoadImages(_dir.File("cut")));

        Assert.That(e!.Message, Does.StartWith(_dir.File("cut")).And.Contain("needs 36 bytes").And.Contain("truncated"));
    }

    [Test]
    public void LoadImages_TrailingData_IsRefused()
    {
        File.WriteAllBytes(_dir.File("long.gz"), Gzip(HandWritten(0x08, [2, 3, 3], Pixels(3, 3, 3))));

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.LoadImages(_dir.File("long.gz")));

        Assert.That(e!.Message, Does.StartWith(_dir.File("long.gz")).And.Contain("trailing data"));
    }

    [Test]
    public void ReadImages_TruncatedGzipStream_NamesFile()
    {
        byte[] gz = Gzip(HandWritten(0x08, [50, 8, 8], Pixels(50, 8, 8)));
        File.WriteAllBytes(_dir.File("cut.gz"), gz[..(gz.Length / 2)]);

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(_dir.File("cut.gz")));

        Assert.That(e!.Message, Does.Contain(_dir.File("cut.gz")).And.Contain("truncated"));
    }

    [TestCase(10)] // the gzip header alone: no data at all (was "0 bytes is too short for an IDX header")
    [TestCase(21)] // inside the IDX header
    [TestCase(-200)] // inside the pixels
    public void ReadAndLoadImages_GzipStreamCutShort_SayItEndsEarly(int cut)
    {
        // Regression: .NET's GZipStream ends a cut stream silently, so a cut file read as a complete but short one.
        byte[] gz = Gzip(HandWritten(0x08, [50, 8, 8], Pixels(50, 8, 8)));
        string path = _dir.File("cut.gz");
        File.WriteAllBytes(path, gz[..(cut > 0 ? cut : gz.Length + cut)]);

        var read = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(path))!;
        var load = Assert.Throws<InvalidDataException>(() => IdxFormat.LoadImages(path))!;

        foreach (var e in new[] { read, load })
        {
            Assert.That(e.Message, Does.StartWith(path + ": ").And.Contain("the gzip stream ends early, after ").And.Contain("(the file is truncated)"));
            Assert.That(e.Message, Does.Not.Contain("is too short"));
        }
    }

    [Test]
    public void ReadImages_CompleteGzipOfAShortFile_IsNotCalledCut()
    {
        File.WriteAllBytes(_dir.File("short.gz"), Gzip([0, 0, 8]));

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(_dir.File("short.gz")))!;

        Assert.That(e.Message, Is.EqualTo($"{_dir.File("short.gz")}: 3 bytes is too short for an IDX header (4 bytes of magic)."));
    }

    [Test]
    public void ReadImages_TrailingBytes_AreReported()
    {
        byte[] full = HandWritten(0x08, [1, 2, 2], [1, 2, 3, 4, 5]);
        File.WriteAllBytes(_dir.File("long"), full);

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(_dir.File("long")));

        Assert.That(e!.Message, Does.Contain("trailing data"));
    }

    [Test]
    public void LoadLabeled_LabelCountDiffers_NamesBothFiles()
    {
        File.WriteAllBytes(_dir.File("i"), HandWritten(0x08, [3, 1, 1], [1, 2, 3]));
        File.WriteAllBytes(_dir.File("l"), HandWritten(0x08, [2], [0, 1]));

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.LoadLabeled(_dir.File("i"), _dir.File("l")));

        Assert.That(e!.Message, Does.Contain("2 labels").And.Contain("3 images").And.Contain(_dir.File("i")));
    }

    [Test]
    public void LoadLabeled_LabelOutOfRange_ReportsIndexAndValue()
    {
        File.WriteAllBytes(_dir.File("i"), HandWritten(0x08, [3, 1, 1], [1, 2, 3]));
        File.WriteAllBytes(_dir.File("l"), HandWritten(0x08, [3], [0, 1, 7]));

        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.LoadLabeled(_dir.File("i"), _dir.File("l"), classCount: 5));

        Assert.That(e!.Message, Does.Contain(_dir.File("l")).And.Contain("Label 7 at index 2"));
    }

    [Test]
    public void ReadImages_MissingFile_Throws()
    {
        var e = Assert.Throws<FileNotFoundException>(() => IdxFormat.ReadImages(_dir.File("absent")));
        Assert.That(e!.Message, Does.Contain("IDX file not found").And.Contain(_dir.File("absent")));
    }

    [Test]
    public void ReadImages_GzipBombBehindASmallHeader_StopsAtTheDeclaredSize()
    {
        // Regression: a .gz whose header says 10 images but which expands to far more was decompressed whole
        // (1 GB took 4.1 GB resident) before "trailing data". 256 MB of zeros compress to ≈ 250 KB.
        string path = _dir.File("bomb.gz");
        using (var file = File.Create(path))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        {
            gz.Write(HandWritten(0x08, [10, 28, 28], new byte[10 * 28 * 28]));
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 256; i++)
            {
                gz.Write(zeros);
            }
        }

        long before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(path));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.That(e!.Message, Does.Contain(path).And.Contain("trailing data"));
        Assert.That(allocated, Is.LessThan(2 << 20), "bounded by the declared 7,840 bytes plus the reader's buffers, not the 256 MB the stream holds");
        TestContext.Out.WriteLine($"{allocated / 1024.0:F0} KB allocated, {clock.ElapsedMilliseconds} ms, file {new FileInfo(path).Length / 1024} KB");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadImages_HeaderDeclaringMoreThanTheFileCanHold_IsRefusedBeforeAllocating(bool gzip)
    {
        // 60,000 images of 1000×1000 (60 GB) declared by a file of a few dozen bytes.
        byte[] raw = HandWritten(0x08, [60_000, 1000, 1000], new byte[16]);
        string path = _dir.File(gzip ? "forged.gz" : "forged.idx");
        File.WriteAllBytes(path, gzip ? Gzip(raw) : raw);

        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<InvalidDataException>(() => IdxFormat.ReadImages(path));

        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - before, Is.LessThan(1 << 20));
        Assert.That(e!.Message, Does.Contain("[60000,1000,1000]").And.Contain(gzip ? "cannot expand to more than" : "truncated"));
    }
}
