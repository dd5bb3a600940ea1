using SkiaSharp;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tests.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Data;

[TestFixture]
public sealed class ImageFileDatasetTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    /// <summary>n JPEGs of mixed sizes and aspects (16–47 px a side) under <paramref name="folder"/>, named 000.jpg, 001.jpg, …</summary>
    private string[] WriteMixedJpegs(string folder, int n, int seed = 0)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(i =>
        {
            int width = random.Next(16, 48);
            int height = random.Next(16, 48);
            return TestImageFiles.Write(_dir.File($"{folder}/{i:D3}.jpg"), width, height, SKEncodedImageFormat.Jpeg, (x, y) => TestImageFiles.Pattern(x % 16, y % 16, i));
        }).ToArray();
    }

    private static byte[] Bytes(Tensor images) => images.contiguous().bytes.ToArray();

    [Test]
    public void GetBatch_AnyIndicesAnyOrder_EqualsTheImagesDecodedOneByOne()
    {
        string[] files = WriteMixedJpegs("mixed", 12);
        var options = new ImageFolderOptions { Height = 12, Width = 10 };

        var dataset = ImageFolder.Index(_dir.File("mixed"), options);
        int[] indices = [7, 0, 11, 7, 3];
        using var batch = dataset.GetBatch(indices);

        Assert.That(dataset.Count, Is.EqualTo(12));
        Assert.That(dataset.Files, Is.EqualTo(files), "ordinal path order");
        Assert.That(batch.shape, Is.EqualTo(new long[] { 5, 3, 12, 10 }));
        byte[] expected = indices.SelectMany(i => ImageFolder.Decode(files[i], options)).ToArray();
        Assert.That(Bytes(batch), Is.EqualTo(expected));
    }

    [Test]
    public void GetBatch_OneThreadOrMany_SameBytes()
    {
        WriteMixedJpegs("mixed", 20);
        var one = ImageFolder.Index(_dir.File("mixed"), new ImageFolderOptions { DecodeThreads = 1 });
        var many = ImageFolder.Index(_dir.File("mixed"), new ImageFolderOptions { DecodeThreads = 4 });
        int[] all = Enumerable.Range(0, 20).Reverse().ToArray();

        using var a = one.GetBatch(all);
        using var b = many.GetBatch(all);

        Assert.That(Bytes(b), Is.EqualTo(Bytes(a)));
    }

    [Test]
    public void LoadIntoMemory_EqualsTheLazyBatchOfEveryImage()
    {
        WriteMixedJpegs("mixed", 300); // more than one decoding chunk of 256
        var lazy = ImageFolder.Index(_dir.File("mixed"), new ImageFolderOptions { Height = 8, Width = 8 });

        using var eager = lazy.LoadIntoMemory();
        using var batch = lazy.GetBatch(Enumerable.Range(0, 300).ToArray());

        Assert.That(Bytes(eager.Images), Is.EqualTo(Bytes(batch)));
    }

    [Test]
    public void Index_CopiesItsOptions_LaterChangesDoNotReachTheDataset()
    {
        WriteMixedJpegs("mixed", 2);
        var options = new ImageFolderOptions { Height = 8, Width = 8 };

        var dataset = ImageFolder.Index(_dir.File("mixed"), options);
        options.Height = 30;

        using var batch = dataset.GetBatch([0]);
        Assert.That(batch.shape, Is.EqualTo(new long[] { 1, 3, 8, 8 }));
    }

    [Test]
    public void CenterCrop_WideImage_ShorterSideToTheWorkingSizeThenTheCentre()
    {
        // 64×32: left half red, right half blue. Scaled by 0.5 to 32×16 (the shorter side becomes 16), the
        // central 16×16 spans columns 8–23 of the scaled image: its left 8 columns red, its right 8 blue.
        string file = TestImageFiles.Write(_dir.File("wide/a.png"), 64, 32, SKEncodedImageFormat.Png, (x, _) => x < 32 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255));

        byte[] planes = ImageFolder.Decode(file, new ImageFolderOptions { Height = 16, Width = 16 });

        int Red(int x, int y) => planes[(y * 16) + x];
        int Blue(int x, int y) => planes[(2 * 256) + (y * 16) + x];
        Assert.Multiple(() =>
        {
            for (int y = 0; y < 16; y++)
            {
                Assert.That((Red(2, y), Blue(2, y)), Is.EqualTo((255, 0)), $"row {y}, left");
                Assert.That((Red(13, y), Blue(13, y)), Is.EqualTo((0, 255)), $"row {y}, right");
            }
        });
    }

    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(6)]
    [TestCase(7)]
    [TestCase(8)]
    public void ExifOrientation_IsApplied_LikeTheTensorFlipsAndTransposeOfTheStandard(int orientation)
    {
        // The same JPEG bytes with and without the tag decode to the same stored pixels; the tagged one must
        // come out as the EXIF standard's transform of them: 2 mirror, 3 rotate 180°, 4 flip, 5 transpose,
        // 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° anticlockwise.
        string plain = TestImageFiles.Write(_dir.File("plain.jpg"), 24, 16, SKEncodedImageFormat.Jpeg, (x, y) => TestImageFiles.Pattern(x % 16, y, 5), quality: 100);
        string tagged = _dir.File($"tagged{orientation}.jpg");
        File.WriteAllBytes(tagged, TestImageFiles.WithExifOrientation(File.ReadAllBytes(plain), orientation));
        bool transposed = orientation >= 5;

        byte[] stored = ImageFolder.Decode(plain, new ImageFolderOptions { Height = 16, Width = 24 });
        byte[] upright = ImageFolder.Decode(tagged, new ImageFolderOptions { Height = transposed ? 24 : 16, Width = transposed ? 16 : 24 });

        using var s = tensor(stored, [3, 16, 24], ScalarType.Byte);
        using var expected = orientation switch
        {
            2 => s.flip(2),
            3 => s.flip(1, 2),
            4 => s.flip(1),
            5 => s.permute(0, 2, 1),
            6 => s.permute(0, 2, 1).flip(2),
            7 => s.permute(0, 2, 1).flip(1, 2),
            _ => s.permute(0, 2, 1).flip(1),
        };
        Assert.That(upright, Is.EqualTo(Bytes(expected)));
    }

    [Test]
    public void ExifRotation_ClosedForm_LeftHalfEndsOnTop()
    {
        // Stored 32×16 with the left half red; orientation 6 (rotate 90° clockwise) puts the left side on top.
        string plain = TestImageFiles.Write(_dir.File("plain.jpg"), 32, 16, SKEncodedImageFormat.Jpeg, (x, _) => x < 16 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255), quality: 100);
        File.WriteAllBytes(_dir.File("r.jpg"), TestImageFiles.WithExifOrientation(File.ReadAllBytes(plain), 6));

        byte[] planes = ImageFolder.Decode(_dir.File("r.jpg"), new ImageFolderOptions { Height = 32, Width = 16 });

        Assert.That(planes[(4 * 16) + 8], Is.GreaterThan(240), "red at the top");
        Assert.That(planes[(27 * 16) + 8], Is.LessThan(15), "no red at the bottom");
        Assert.That(planes[(2 * 512) + (27 * 16) + 8], Is.GreaterThan(240), "blue at the bottom");
    }

    [Test]
    public void Alpha_IsDropped_TheStoredColourOfATranslucentPixelIsKept()
    {
        string file = TestImageFiles.Write(_dir.File("alpha.png"), 4, 4, SKEncodedImageFormat.Png, (_, _) => (200, 100, 50), alpha: 64);

        byte[] planes = ImageFolder.Decode(file, new ImageFolderOptions { Height = 4, Width = 4 });

        Assert.That(new[] { planes[5], planes[16 + 5], planes[32 + 5] }, Is.EqualTo(new byte[] { 200, 100, 50 }));
    }

    [Test]
    public void GetBatch_TruncatedFile_NamesIt()
    {
        string[] files = WriteMixedJpegs("mixed", 3);
        byte[] whole = File.ReadAllBytes(files[1]);
        File.WriteAllBytes(files[1], whole[..(whole.Length * 2 / 3)]);
        var dataset = ImageFolder.Index(_dir.File("mixed"));

        var e = Assert.Throws<InvalidDataException>(() => dataset.GetBatch([0, 1, 2]).Dispose());

        Assert.That(e!.Message, Does.Contain(files[1]).And.Contain("truncated"));
    }

    [Test]
    public void GetBatch_SkipUnreadable_ReplacesTheFileByTheNextReadableOneAndLogsItOnce()
    {
        string[] files = WriteMixedJpegs("mixed", 4);
        byte[] whole = File.ReadAllBytes(files[1]);
        File.WriteAllBytes(files[1], whole[..(whole.Length * 2 / 3)]); // header intact: indexing keeps it
        var logger = new ListLogger();
        var options = new ImageFolderOptions { Height = 8, Width = 8, SkipUnreadable = true };
        var dataset = ImageFolder.Index(_dir.File("mixed"), options, logger);

        using var batch = dataset.GetBatch([1, 0, 1]);

        Assert.That(dataset.Count, Is.EqualTo(4));
        byte[] second = ImageFolder.Decode(files[2], options);
        byte[] first = ImageFolder.Decode(files[0], options);
        Assert.That(Bytes(batch), Is.EqualTo(second.Concat(first).Concat(second).ToArray()), "image 1 is read as image 2");
        Assert.That(dataset.ReplacedFiles, Is.EqualTo(new[] { files[1] }));
        Assert.That(logger.Entries.Select(e => e.Message).Count(m => m.Contains(files[1])), Is.EqualTo(1));
    }

    [Test]
    public void Index_SkipUnreadable_LeavesOutFilesWhoseHeaderDoesNotOpen()
    {
        string[] files = WriteMixedJpegs("mixed", 3);
        File.WriteAllText(files[0], "not a jpeg");
        var logger = new ListLogger();

        var dataset = ImageFolder.Index(_dir.File("mixed"), new ImageFolderOptions { SkipUnreadable = true }, logger);

        Assert.That(dataset.Files, Is.EqualTo(files[1..]));
        Assert.That(logger.Entries.Select(e => e.Message), Has.One.Contains(files[0]));
    }

    [Test]
    public void IndexLabeled_LoadIntoMemory_SkipsABodyCorruptFileWithItsLabel()
    {
        string a0 = TestImageFiles.Write(_dir.File("root/a/0.jpg"), 20, 20, SKEncodedImageFormat.Jpeg, (x, y) => TestImageFiles.Pattern(x, y, 1));
        string a1 = TestImageFiles.Write(_dir.File("root/a/1.jpg"), 20, 20, SKEncodedImageFormat.Jpeg, (x, y) => TestImageFiles.Pattern(x, y, 2));
        TestImageFiles.Write(_dir.File("root/b/0.jpg"), 20, 20, SKEncodedImageFormat.Jpeg, (x, y) => TestImageFiles.Pattern(x, y, 3));
        byte[] whole = File.ReadAllBytes(a0);
        File.WriteAllBytes(a0, whole[..(whole.Length / 2)]);
        var options = new ImageFolderOptions { Height = 8, Width = 8, SkipUnreadable = true };

        var lazy = ImageFolder.IndexLabeled(_dir.File("root"), options);
        using var eager = lazy.LoadIntoMemory();

        Assert.That(lazy.Labels, Is.EqualTo(new[] { 0, 0, 1 }));
        Assert.That(eager.Labels, Is.EqualTo(new[] { 0, 1 }));
        using var first = eager.GetBatch([0]);
        Assert.That(Bytes(first), Is.EqualTo(ImageFolder.Decode(a1, options)));
    }

    [Test]
    public void FromFiles_MissingFile_NamesIt()
    {
        string[] files = WriteMixedJpegs("mixed", 2);

        var e = Assert.Throws<FileNotFoundException>(() => ImageFileDataset.FromFiles([files[0], _dir.File("nope.jpg")]));

        Assert.That(e!.Message, Does.Contain("nope.jpg"));
    }

    [Test]
    public void Engine_FileBackedSourceWithReplay_TrainsExactlyAsTheSameImagesInMemory()
    {
        // 40 target PNGs, 200 source PNGs of 16 px grayscale: the run on the lazy source must be bit-identical
        // to the run on the same source decoded into memory.
        using var target = EngineTestData.Images(40, seed: 3);
        using var sourceInMemory = EngineTestData.Images(200, seed: 4, brightness: 120);
        for (int i = 0; i < 200; i++)
        {
            using var image = sourceInMemory.GetBatch([i]);
            byte[] gray = Bytes(image);
            TestImageFiles.Write(_dir.File($"source/{i:D3}.png"), 16, 16, SKEncodedImageFormat.Png, (x, y) => (gray[(y * 16) + x], gray[(y * 16) + x], gray[(y * 16) + x]));
        }

        var lazy = ImageFolder.Index(_dir.File("source"), new ImageFolderOptions { Height = 16, Width = 16, Color = ImageColorMode.Grayscale });
        var replay = new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25, Composition = ReplayComposition.FixedShare });
        FinetuneResult Run(IImageDataset source, out Dictionary<string, Tensor> weights)
        {
            using var model = EngineTestData.Model();
            var result = EngineTestData.Engine(EngineTestData.Options(steps: 5), replay: replay).Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });
            weights = EngineTestData.Snapshot(model);
            return result;
        }

        var fromMemory = Run(sourceInMemory, out var expected);
        var fromFiles = Run(lazy, out var actual);

        Assert.That(fromFiles.ReplayedSourceIndices, Is.EqualTo(fromMemory.ReplayedSourceIndices));
        Assert.That(fromFiles.History.Select(h => h.MeanLoss), Is.EqualTo(fromMemory.History.Select(h => h.MeanLoss)));
        foreach (var (name, value) in expected)
        {
            Assert.That(actual[name].eq(value).all().item<bool>(), Is.True, name);
        }
    }
}
