using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

[TestFixture]
public sealed class CifarBinaryTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static byte[] Image(int seed) => Enumerable.Range(0, 3072).Select(i => (byte)((i * 31) + (seed * 17))).ToArray();

    // Records written by hand from the published layout: <label>[<fine>]<1024 R><1024 G><1024 B>.
    private static byte[] Records(params (byte[] Labels, byte[] Pixels)[] records) =>
        records.SelectMany(r => r.Labels.Concat(r.Pixels)).ToArray();

    [Test]
    public void Load_Cifar10TwoBatches_RoundTripsInOrderWithClassNames()
    {
        File.WriteAllBytes(_dir.File("data_batch_1.bin"), Records(([3], Image(0)), ([9], Image(1))));
        File.WriteAllBytes(_dir.File("data_batch_2.bin"), Records(([0], Image(2))));
        File.WriteAllLines(_dir.File("batches.meta.txt"), ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", ""]);

        using var dataset = CifarBinary.Load(CifarLabels.Cifar10, _dir.File("data_batch_1.bin"), _dir.File("data_batch_2.bin"));

        Assert.That(dataset.Count, Is.EqualTo(3));
        Assert.That(dataset.Shape, Is.EqualTo(new ImageShape(3, 32, 32)));
        Assert.That(dataset.GetLabels(), Is.EqualTo(new[] { 3, 9, 0 }));
        Assert.That(dataset.ClassNames[3], Is.EqualTo("cat"));
        using var second = dataset.GetImage(1);
        Assert.That(second.data<byte>().ToArray(), Is.EqualTo(Image(1)));
        // Channel-planar layout: pixel (row 0, col 5) of the green plane is byte 1024 + 5 of the record.
        Assert.That(second[1, 0, 5].item<byte>(), Is.EqualTo(Image(1)[1024 + 5]));
    }

    [TestCase(CifarLabels.Cifar100Fine, 57)]
    [TestCase(CifarLabels.Cifar100Coarse, 12)]
    public void Load_Cifar100_PicksTheRequestedLabel(CifarLabels kind, int expected)
    {
        File.WriteAllBytes(_dir.File("train.bin"), Records(([12, 57], Image(4))));

        using var dataset = CifarBinary.Load(kind, _dir.File("train.bin"));

        Assert.That(dataset.GetLabel(0), Is.EqualTo(expected));
        Assert.That(dataset.ClassCount, Is.EqualTo(kind == CifarLabels.Cifar100Fine ? 100 : 20));
        Assert.That(dataset.Images.data<byte>().ToArray(), Is.EqualTo(Image(4)));
    }

    [Test]
    public void Load_TruncatedFile_ReportsRecordsAndLeftoverBytes()
    {
        byte[] two = Records(([1], Image(0)), ([2], Image(1)));
        File.WriteAllBytes(_dir.File("cut.bin"), two[..(two.Length - 100)]);

        var e = Assert.Throws<InvalidDataException>(() => CifarBinary.Load(CifarLabels.Cifar10, _dir.File("cut.bin")));

        Assert.That(e!.Message, Does.Contain(_dir.File("cut.bin")).And.Contain("6046 bytes").And.Contain("3073-byte").And.Contain("1 records and 2973 bytes left over"));
    }

    [Test]
    public void Load_Cifar100FileReadAsCifar10_LabelOrLengthIsReported()
    {
        File.WriteAllBytes(_dir.File("train.bin"), Records(([1, 50], Image(0))));

        var e = Assert.Throws<InvalidDataException>(() => CifarBinary.Load(CifarLabels.Cifar10, _dir.File("train.bin")));

        Assert.That(e!.Message, Does.Contain("3074 bytes is not a whole number of 3073-byte"));
    }

    [Test]
    public void Load_LabelOutOfRange_ReportsRecordOffsetAndValue()
    {
        File.WriteAllBytes(_dir.File("b.bin"), Records(([1], Image(0)), ([10], Image(1))));

        var e = Assert.Throws<InvalidDataException>(() => CifarBinary.Load(CifarLabels.Cifar10, _dir.File("b.bin")));

        Assert.That(e!.Message, Does.Contain("record 1 (offset 3073) has label 10"));
    }
}
