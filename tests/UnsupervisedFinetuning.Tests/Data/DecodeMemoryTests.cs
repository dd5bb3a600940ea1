using System.IO.Compression;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

/// <summary>
/// The memory one decode takes is what the header says it will be, and never more than
/// <see cref="ImageFolderOptions.MaxDecodedPixels"/> allows (5⅓ bytes a pixel + 32 MB: 375 MB by default): a tiny
/// progressive JPEG claiming 8000² used to cost 488–524 MB at a 28 px working size.
/// </summary>
public sealed class DecodeMemoryTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static readonly ImageFolderOptions Small = new() { Height = 28, Width = 28 };

    [TestCase(4, 551)]
    [TestCase(3, 423)]
    public void Decode_ATinyProgressiveJpegClaiming8000Squared_IsRefusedFromItsHeader(int components, int megabytes)
    {
        string path = _dir.File("liar.jpg");
        File.WriteAllBytes(path, Jpeg(8000, 8000, components, progressive: true));
        InvalidDataException? e = null;

        double added = PeakMemory.MegabytesAdded(() => e = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, Small)));

        Assert.That(e!.Message, Is.EqualTo($"{path}: decoding it would take about {megabytes} MB (a progressive JPEG of 8000x8000 in {components} component(s) keeps every DCT coefficient while it decodes, at any output scale); at most 375 MB are spent on one image (what a full-size decode of ImageFolderOptions.MaxDecodedPixels = 64,000,000 pixels takes)."));
        Assert.That(added, Is.LessThan(32), "refused before libjpeg allocated its coefficient buffers");
    }

    [Test]
    public void Decode_ABaselineJpegClaiming8000Squared_DecodesAtAReducedScaleInLittleMemory()
    {
        string path = _dir.File("big.jpg");
        File.WriteAllBytes(path, Jpeg(8000, 8000, 4, progressive: false));

        double added = PeakMemory.MegabytesAdded(() => ImageFolder.Decode(path, Small));

        Assert.That(added, Is.LessThan(48), "1/8 scale: a 1000² bitmap and its mipmaps");
    }

    [Test]
    public void Decode_A16BitPngOf8000Squared_StaysWithinTheStatedBound()
    {
        string path = _dir.File("deep.png");
        File.WriteAllBytes(path, SixteenBitPng(8000, 8000));
        byte[]? planes = null;

        double added = PeakMemory.MegabytesAdded(() => planes = ImageFolder.Decode(path, Small));

        Assert.That(planes, Has.Length.EqualTo(3 * 28 * 28));
        Assert.That(added, Is.LessThan(375), "5⅓ bytes × 64 MP + 32 MB: the bitmap, its mipmaps and row buffers");
        Assert.That(added, Is.GreaterThan(256), "a PNG decodes at full size: the bound is what it needs, not a guess");
        TestContext.Out.WriteLine($"8000² 16-bit PNG: {added:F0} MB");
    }

    [Test]
    public void Decode_AProgressiveJpegThatFits_IsNotRefused()
    {
        string path = _dir.File("fits.jpg");
        File.WriteAllBytes(path, Jpeg(2000, 2000, 4, progressive: true)); // 32 MB of coefficients

        Assert.That(ImageFolder.Decode(path, Small), Has.Length.EqualTo(3 * 28 * 28));
    }

    /// <summary>
    /// A minimal JPEG: SOI, one quantisation table, a frame header (SOF0 or SOF2) for <paramref name="width"/>×<paramref name="height"/>
    /// in 1×1-sampled components, a DC and an AC Huffman table of one code each, one scan header and 64 zero bytes of
    /// entropy data, EOI — a few hundred bytes that claim whatever size the header says.
    /// </summary>
    internal static byte[] Jpeg(int width, int height, int components, bool progressive)
    {
        var bytes = new List<byte> { 0xFF, 0xD8, 0xFF, 0xDB, 0, 67, 0 };
        bytes.AddRange(Enumerable.Repeat((byte)1, 64));
        bytes.AddRange([0xFF, (byte)(progressive ? 0xC2 : 0xC0), 0, (byte)(8 + (3 * components)), 8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, (byte)components]);
        for (int c = 1; c <= components; c++)
        {
            bytes.AddRange([(byte)c, 0x11, 0]);
        }

        foreach (byte table in new byte[] { 0x00, 0x10 })
        {
            bytes.AddRange([0xFF, 0xC4, 0, 20, table, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        }

        bytes.AddRange([0xFF, 0xDA, 0, (byte)(6 + (2 * components)), (byte)components]);
        for (int c = 1; c <= components; c++)
        {
            bytes.AddRange([(byte)c, 0x00]);
        }

        bytes.AddRange([0, (byte)(progressive ? 0 : 63), 0]);
        bytes.AddRange(new byte[64]);
        bytes.AddRange([0xFF, 0xD9]);
        return [.. bytes];
    }

    /// <summary>A valid 16-bit RGB PNG of black pixels: every row is there (zlib makes 384 MB of zeros ≈ 370 KB).</summary>
    private static byte[] SixteenBitPng(int width, int height)
    {
        var png = new List<byte>(PngBytes.Signature);
        void Chunk(string type, byte[] data) => png.AddRange(PngBytes.Chunk(type, data));
        Chunk("IHDR", [.. PngBytes.BigEndian(width), .. PngBytes.BigEndian(height), 16, 2, 0, 0, 0]);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + (width * 6)]; // filter byte 0, then 6 bytes a pixel
            for (int y = 0; y < height; y++)
            {
                zlib.Write(row);
            }
        }

        Chunk("IDAT", compressed.ToArray());
        Chunk("IEND", []);
        return [.. png];
    }

}
