using SkiaSharp;
using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Data;

/// <summary>The image-source catalog (a path resolves to a dataset) and what works on any dataset: loading, naming, leaving out unreadable images.</summary>
[TestFixture]
public sealed class ImageSourceTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static byte[] Bytes(Tensor images) => images.contiguous().bytes.ToArray();

    private string[] WriteJpegs(string folder, int n) =>
        Enumerable.Range(0, n).Select(i => TestImageFiles.Write(_dir.File($"{folder}/{i:D3}.jpg"), 20 + i, 18, SKEncodedImageFormat.Jpeg, (x, y) => TestImageFiles.Pattern(x % 16, y % 16, i))).ToArray();

    /// <summary>A dataset that is not file-backed: image i is filled with the value i % 251, and every batch asked for is recorded.</summary>
    private sealed class CountingDataset(int count, ImageShape shape, int? unreadable = null) : IImageDataset
    {
        public List<int[]> Batches { get; } = [];

        public int Count => count;

        public ImageShape Shape => shape;

        public Tensor GetBatch(ReadOnlySpan<int> indices)
        {
            int[] rows = indices.ToArray();
            Batches.Add(rows);
            if (unreadable is { } bad && rows.Contains(bad))
            {
                throw new InvalidDataException($"image {bad} cannot be read");
            }

            var batch = empty(shape.BatchShape(rows.Length), ScalarType.Byte);
            for (int i = 0; i < rows.Length; i++)
            {
                batch[i].fill_(rows[i] % 251);
            }

            return batch;
        }
    }

    [Test]
    public void BuiltIn_IsTheFolderThenTheManifest()
    {
        Assert.That(ImageSourceCatalog.BuiltIn.Names, Is.EqualTo(new[] { "folder", "manifest" }));
        Assert.That(ImageSourceCatalog.BuiltIn.All(s => s.HasLabels), Is.True);
    }

    [Test]
    public void Resolve_AFolderOrAFile_TheSourceThatClaimsIt()
    {
        WriteJpegs("images", 2);
        string manifest = _dir.File("list.txt");
        File.WriteAllText(manifest, "images/000.jpg\n");

        Assert.That(ImageSourceCatalog.BuiltIn.Resolve(_dir.File("images")), Is.SameAs(ImageSourceCatalog.Folder));
        Assert.That(ImageSourceCatalog.BuiltIn.Resolve(manifest), Is.SameAs(ImageSourceCatalog.Manifest));
    }

    [Test]
    public void Resolve_NothingThere_NamesThePathAndWhatWasExpected()
    {
        string missing = _dir.File("nowhere");

        var e = Assert.Throws<FileNotFoundException>(() => ImageSourceCatalog.BuiltIn.Resolve(missing));

        Assert.That(e!.Message, Is.EqualTo($"no folder or manifest file at {missing}."));
        Assert.That(e.FileName, Is.EqualTo(missing));
    }

    [Test]
    public void Open_AFolder_TheSameImagesAsImageFolderIndex()
    {
        string[] files = WriteJpegs("images", 5);
        var options = new ImageFolderOptions { Height = 8, Width = 6 };

        var opened = ImageSourceCatalog.BuiltIn.Open(_dir.File("images"), options);
        var indexed = ImageFolder.Index(_dir.File("images"), options);
        using var a = opened.GetBatch([0, 1, 2, 3, 4]);
        using var b = indexed.GetBatch([0, 1, 2, 3, 4]);

        Assert.That(Enumerable.Range(0, opened.Count).Select(opened.NameOf), Is.EqualTo(files));
        Assert.That(Bytes(a), Is.EqualTo(Bytes(b)));
    }

    [Test]
    public void OpenLabeled_AManifest_ItsLabelsInNumericOrder()
    {
        WriteJpegs("images", 3);
        string manifest = _dir.File("list.txt");
        File.WriteAllText(manifest, "images/000.jpg\t10\nimages/001.jpg\t2\nimages/002.jpg\t10\n");

        var data = ImageSourceCatalog.BuiltIn.OpenLabeled(manifest, new ImageFolderOptions { Height = 8, Width = 8 });

        Assert.That(data.ClassNames, Is.EqualTo(new[] { "2", "10" }));
        Assert.That(data.GetLabels(), Is.EqualTo(new[] { 1, 0, 1 }));
    }

    [Test]
    public void With_ASourceOfItsOwn_OpensThePathsItClaims_AndTheMessageListsIt()
    {
        var memory = ImageSourceEntry.Create("memory", "Images held by the test.", "memory: name", path => path.StartsWith("memory:", StringComparison.Ordinal),
            (_, options, _) => new CountingDataset(3, new ImageShape(1, options.Height, options.Width)));
        var sources = ImageSourceCatalog.BuiltIn.With(memory);

        var data = sources.Open("memory:three", new ImageFolderOptions { Height = 4, Width = 5 });

        Assert.That((data.Count, data.Shape), Is.EqualTo((3, new ImageShape(1, 4, 5))));
        Assert.That(Assert.Throws<NotSupportedException>(() => sources.OpenLabeled("memory:three"))!.Message, Does.Contain("'memory' has no labels"));
        Assert.That(Assert.Throws<FileNotFoundException>(() => sources.Resolve("elsewhere"))!.Message, Is.EqualTo("no folder, manifest file or memory: name at elsewhere."));
    }

    [Test]
    public void LoadIntoMemory_AnyDataset_ReadsEveryImageInBatchesOfAtMost256()
    {
        var data = new CountingDataset(300, new ImageShape(1, 2, 3));

        using var loaded = ((IImageDataset)data).LoadIntoMemory();

        Assert.That(data.Batches.Select(b => b.Length), Is.EqualTo(new[] { 256, 44 }));
        Assert.That(data.Batches.SelectMany(b => b), Is.EqualTo(Enumerable.Range(0, 300)));
        Assert.That(loaded.Count, Is.EqualTo(300));
        Assert.That(Bytes(loaded.Images), Is.EqualTo(Enumerable.Range(0, 300).SelectMany(i => Enumerable.Repeat((byte)(i % 251), 6))));
    }

    [Test]
    public void LoadIntoMemory_ALabelledView_KeepsLabelsAndClassNames()
    {
        using var all = new InMemoryLabeledImageDataset(arange(4 * 3, dtype: ScalarType.Byte).reshape(4, 1, 1, 3), [1, 0, 1, 0], 2, ["cat", "dog"]);
        ILabeledImageDataset view = all.Subset([3, 0, 2]);

        using var loaded = view.LoadIntoMemory();

        Assert.That(loaded.Labels, Is.EqualTo(new[] { 0, 1, 1 }));
        Assert.That(loaded.ClassNames, Is.EqualTo(new[] { "cat", "dog" }));
        Assert.That(Bytes(loaded.Images), Is.EqualTo(new byte[] { 9, 10, 11, 0, 1, 2, 6, 7, 8 }));
    }

    [Test]
    public void LoadIntoMemory_MoreThanTheMachineHas_RefusedBeforeReadingWithTheFileDatasetsMessage()
    {
        var data = new CountingDataset(1 << 30, new ImageShape(3, 1024, 1024));

        var e = Assert.Throws<InsufficientMemoryException>(() => ((IImageDataset)data).LoadIntoMemory());

        Assert.That(e!.Message, Does.StartWith("Loading 1,073,741,824 images of [3,1024,1024] into memory takes 3377699.7 GB, more than the"));
        Assert.That(e.Message, Does.EndWith("lower the working size (ImageFolderOptions.Height/Width, uft --working-size) or index the images instead of loading them."));
        Assert.That(data.Batches, Is.Empty);
    }

    [Test]
    public void LoadIntoMemory_AFileDatasetAsAnyDataset_TheSameAsItsOwnLoad_SkippingTheUnreadable()
    {
        string[] files = WriteJpegs("images", 4);
        byte[] whole = File.ReadAllBytes(files[2]);
        File.WriteAllBytes(files[2], whole[..(whole.Length / 2)]); // header intact: indexed, fails when decoded
        var options = new ImageFolderOptions { Height = 8, Width = 8, SkipUnreadable = true };
        var dataset = ImageFolder.Index(_dir.File("images"), options);

        using var own = dataset.LoadIntoMemory();
        using var any = ((IImageDataset)dataset).LoadIntoMemory();

        Assert.That(any.Count, Is.EqualTo(3));
        Assert.That(Bytes(any.Images), Is.EqualTo(Bytes(own.Images)));
        Assert.That(Bytes(any.Images), Is.EqualTo(new[] { 0, 1, 3 }.SelectMany(i => ImageFolder.Decode(files[i], options)).ToArray()));
    }

    [Test]
    public void NameOf_FilesBySubsetsAndOthers()
    {
        string[] files = WriteJpegs("images", 3);
        var dataset = ImageFolder.Index(_dir.File("images"));
        var other = new CountingDataset(2, new ImageShape(1, 1, 1));

        Assert.That(dataset.Subset([2, 0]).NameOf(0), Is.EqualTo(files[2]));
        Assert.That(other.NameOf(1), Is.EqualTo("1"));
        Assert.That(other.Subset([1]).NameOf(0), Is.EqualTo("1"), "a subset names an image by its index in the parent");
        Assert.Throws<ArgumentOutOfRangeException>(() => other.NameOf(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.NameOf(3));
    }

    [Test]
    public void WithoutUnreadable_AFileDatasetThatSkips_LeavesOutTheFileThatFailsWhenDecoded()
    {
        string[] files = WriteJpegs("images", 3);
        byte[] whole = File.ReadAllBytes(files[1]);
        File.WriteAllBytes(files[1], whole[..(whole.Length / 2)]);
        var dataset = ImageFolder.Index(_dir.File("images"), new ImageFolderOptions { SkipUnreadable = true });

        var readable = dataset.WithoutUnreadable();

        Assert.That(Enumerable.Range(0, readable.Count).Select(readable.NameOf), Is.EqualTo(new[] { files[0], files[2] }));
    }

    [Test]
    public void WithoutUnreadable_AnyDataset_TheImagesWhoseReadDoesNotThrow()
    {
        var data = new CountingDataset(4, new ImageShape(1, 1, 1), unreadable: 1);

        var readable = data.WithoutUnreadable();

        Assert.That(Enumerable.Range(0, readable.Count).Select(readable.NameOf), Is.EqualTo(new[] { "0", "2", "3" }));
        using var batch = readable.GetBatch([0, 1, 2]);
        Assert.That(Bytes(batch), Is.EqualTo(new byte[] { 0, 2, 3 }));
        Assert.That(new CountingDataset(2, new ImageShape(1, 1, 1)).WithoutUnreadable(), Is.Not.Null);
    }
}
