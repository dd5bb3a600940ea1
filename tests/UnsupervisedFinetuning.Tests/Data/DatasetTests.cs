using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Data;

[TestFixture]
public sealed class DatasetTests
{
    /// <summary>n images of shape [1,2,2] whose pixels all equal (offset + image index).</summary>
    internal static InMemoryLabeledImageDataset Constant(int n, int classCount, int offset = 0, Func<int, int>? label = null)
    {
        label ??= i => i % classCount;
        byte[] pixels = Enumerable.Range(0, n).SelectMany(i => Enumerable.Repeat((byte)(offset + i), 4)).ToArray();
        return InMemoryLabeledImageDataset.FromBytes(pixels, new ImageShape(1, 2, 2), Enumerable.Range(0, n).Select(label).ToArray(), classCount);
    }

    private static byte[] FirstPixels(Tensor batch)
    {
        using (batch)
        {
            return batch.select(1, 0).select(1, 0).select(1, 0).data<byte>().ToArray();
        }
    }

    [Test]
    public void GetBatch_ArbitraryOrderWithRepeats_GathersInRequestOrder()
    {
        using var dataset = Constant(5, 2);

        var pixels = FirstPixels(dataset.GetBatch([4, 0, 4, 2]));

        Assert.That(pixels, Is.EqualTo(new byte[] { 4, 0, 4, 2 }));
    }

    [Test]
    public void GetBatch_IndexOutOfRange_NamesIndexAndPosition()
    {
        using var dataset = Constant(3, 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => dataset.GetBatch([0, 3]));

        Assert.That(e!.Message, Does.Contain("Index 3 at position 1").And.Contain("3 images"));
    }

    [Test]
    public void Constructor_LabelOutOfRange_NamesIndexAndValue()
    {
        var e = Assert.Throws<ArgumentException>(() => InMemoryLabeledImageDataset.FromBytes(new byte[12], new ImageShape(1, 2, 2), [0, 5, 1], classCount: 3));

        Assert.That(e!.Message, Does.Contain("Label 5 at index 1").And.Contain("[0, 3)"));
    }

    [Test]
    public void Constructor_WrongDtype_IsRejected()
    {
        using var floats = zeros(2, 1, 2, 2);

        var e = Assert.Throws<ArgumentException>(() => new InMemoryImageDataset(floats));

        Assert.That(e!.Message, Does.Contain("uint8"));
    }

    [Test]
    public void Constructor_InsideDisposeScope_TensorOutlivesTheScope()
    {
        InMemoryImageDataset dataset;
        using (NewDisposeScope())
        {
            dataset = new InMemoryImageDataset(ones(3, 1, 2, 2, ScalarType.Byte));
        }

        using (dataset)
        {
            Assert.That(FirstPixels(dataset.GetBatch([2])), Is.EqualTo(new byte[] { 1 }));
        }
    }

    [Test]
    public void Constructor_NonContiguousInput_KeepsAContiguousCopyAndDisposesTheInput()
    {
        // [N,H,W,C] permuted to [N,C,H,W]: a strided view the dataset must copy.
        var nhwc = arange(2 * 2 * 3 * 3, ScalarType.Byte).reshape(2, 2, 3, 3);
        var nchw = nhwc.permute(0, 3, 1, 2);
        byte[] expected = nchw.contiguous().data<byte>().ToArray();

        using var dataset = new InMemoryImageDataset(nchw);

        Assert.That(nchw.IsInvalid, Is.True, "the caller's strided tensor is owned, hence disposed");
        using var all = dataset.GetBatch([0, 1]);
        Assert.That(all.data<byte>().ToArray(), Is.EqualTo(expected));
        nhwc.Dispose();
    }

    [Test]
    public void Subset_MapsIndicesAndKeepsLabels()
    {
        using var dataset = Constant(6, 3);

        var subset = dataset.Subset([5, 1]);

        Assert.That(subset.Count, Is.EqualTo(2));
        Assert.That(subset.GetLabels(), Is.EqualTo(new[] { 2, 1 }));
        Assert.That(FirstPixels(subset.GetBatch([1, 0, 1])), Is.EqualTo(new byte[] { 1, 5, 1 }));
    }

    [Test]
    public void Subset_EmptySelection_IsAClearError()
    {
        using var dataset = Constant(3, 2);

        var e = Assert.Throws<ArgumentException>(() => dataset.Subset([]));

        Assert.That(e!.Message, Does.Contain("empty"));
    }

    [Test]
    public void Subset_IndexOutsideParent_NamesPosition()
    {
        using var dataset = Constant(3, 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => dataset.Subset([0, 1, 9]));

        Assert.That(e!.Message, Does.Contain("index 9 at position 2"));
    }

    [Test]
    public void WithoutLabels_HidesLabelsButKeepsImages()
    {
        using var dataset = Constant(3, 2);

        IImageDataset view = dataset.WithoutLabels();

        Assert.That(view, Is.Not.InstanceOf<ILabeledImageDataset>());
        Assert.That(FirstPixels(view.GetBatch([2])), Is.EqualTo(new byte[] { 2 }));
    }

    [Test]
    public void Concat_TargetThenSource_LocatesOriginsAndGathersAcrossParts()
    {
        using var target = Constant(3, 2, offset: 0);
        using var source = Constant(4, 2, offset: 100);
        var union = new ConcatDataset(target.WithoutLabels(), source.WithoutLabels());

        Assert.That(union.Count, Is.EqualTo(7));
        Assert.That(union.Locate(2), Is.EqualTo(new DatasetOrigin(0, 2)));
        Assert.That(union.Locate(3), Is.EqualTo(new DatasetOrigin(1, 0)));
        Assert.That(union.Locate(6), Is.EqualTo(new DatasetOrigin(1, 3)));
        Assert.That(FirstPixels(union.GetBatch([6, 0, 3, 2, 5])), Is.EqualTo(new byte[] { 103, 0, 100, 2, 102 }));
    }

    [Test]
    public void Concat_DifferentShapes_NamesBoth()
    {
        using var small = Constant(2, 2);
        using var other = InMemoryImageDataset.FromBytes(new byte[2 * 9], 2, new ImageShape(1, 3, 3));

        var e = Assert.Throws<ArgumentException>(() => new ConcatDataset(small, other));

        Assert.That(e!.Message, Does.Contain("[1,3,3]").And.Contain("[1,2,2]"));
    }
}
