using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

[TestFixture]
public sealed class DatasetSplitsTests
{
    // 3 classes of 50, 30 and 20 images, interleaved.
    private static InMemoryLabeledImageDataset Unbalanced() =>
        DatasetTests.Constant(100, 3, label: i => i < 50 ? 0 : i < 80 ? 1 : 2);

    [Test]
    public void Stratified_PartsAreDisjointCoverEverythingAndKeepClassProportions()
    {
        using var dataset = Unbalanced();

        var split = DatasetSplits.Stratified(dataset, 0.6, 0.2, 0.2, seed: 1);

        var all = split.Train.Indices.Concat(split.Validation!.Indices).Concat(split.Test!.Indices).ToList();
        Assert.That(all, Is.Unique);
        Assert.That(all, Is.EquivalentTo(Enumerable.Range(0, 100)));
        int[] Count(LabeledSubsetDataset part, int c) => [part.GetLabels().Count(l => l == c)];
        Assert.That(new[] { 0, 1, 2 }.Select(c => Count(split.Validation!, c)[0]), Is.EqualTo(new[] { 10, 6, 4 }));
        Assert.That(new[] { 0, 1, 2 }.Select(c => Count(split.Test!, c)[0]), Is.EqualTo(new[] { 10, 6, 4 }));
        Assert.That(new[] { 0, 1, 2 }.Select(c => Count(split.Train, c)[0]), Is.EqualTo(new[] { 30, 18, 12 }));
        Assert.That(split.Train.Indices, Is.Ordered);
    }

    [Test]
    public void Stratified_SameSeedSameSplit_OtherSeedOtherSplit()
    {
        using var dataset = Unbalanced();

        var a = DatasetSplits.Stratified(dataset, 0.5, 0.25, 0.25, seed: 7);
        var b = DatasetSplits.Stratified(dataset, 0.5, 0.25, 0.25, seed: 7);
        var c = DatasetSplits.Stratified(dataset, 0.5, 0.25, 0.25, seed: 8);

        Assert.That(a.Test!.Indices, Is.EqualTo(b.Test!.Indices));
        Assert.That(a.Test!.Indices, Is.Not.EqualTo(c.Test!.Indices));
    }

    [Test]
    public void Stratified_ZeroValidation_GivesNoValidationPart()
    {
        using var dataset = Unbalanced();

        var split = DatasetSplits.Stratified(dataset, 0.8, 0.0, 0.2, seed: 1);

        Assert.That(split.Validation, Is.Null);
        Assert.That(split.Train.Count + split.Test!.Count, Is.EqualTo(100));
    }

    [Test]
    public void Stratified_FractionsNotSummingToOne_AreRejected()
    {
        using var dataset = Unbalanced();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.Stratified(dataset, 0.5, 0.3, 0.3, seed: 1));

        Assert.That(e!.Message, Does.Contain("sum to 1"));
    }

    [Test]
    public void FewPerClass_TakesExactlyKOfEachClass()
    {
        using var dataset = Unbalanced();

        var few = DatasetSplits.FewPerClass(dataset, 5, seed: 3);

        Assert.That(few.GetLabels().GroupBy(l => l).Select(g => g.Count()), Is.EqualTo(new[] { 5, 5, 5 }));
        Assert.That(few.Indices, Is.Unique);
    }

    [Test]
    public void FewPerClass_ClassTooSmall_NamesTheClass()
    {
        using var dataset = Unbalanced();

        var e = Assert.Throws<ArgumentException>(() => DatasetSplits.FewPerClass(dataset, 25, seed: 3));

        Assert.That(e!.Message, Does.Contain("Class 2").And.Contain("has 20 images"));
    }

    [Test]
    public void Sample_DrawsDistinctIndicesReproducibly()
    {
        var a = DatasetSplits.SampleIndices(1000, 300, seed: 5);
        var b = DatasetSplits.SampleIndices(1000, 300, seed: 5);

        Assert.That(a, Is.Unique.And.Ordered);
        Assert.That(a, Has.Length.EqualTo(300));
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.All(i => i is >= 0 and < 1000), Is.True);
    }

    [Test]
    public void Sample_MoreThanAvailable_IsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.SampleIndices(10, 11, seed: 1));

        Assert.That(e!.Message, Does.Contain("Cannot draw 11 distinct images from 10"));
    }

    [Test]
    public void OfClasses_KeepsOnlyThoseLabels()
    {
        using var dataset = Unbalanced();

        var subset = DatasetSplits.OfClasses(dataset, 1, 2);

        Assert.That(subset.Count, Is.EqualTo(50));
        Assert.That(subset.GetLabels().Distinct(), Is.EquivalentTo(new[] { 1, 2 }));
    }

    [Test]
    public void Relabeled_RenumbersTheChosenClassesInOrder()
    {
        using var dataset = Unbalanced();
        var subset = DatasetSplits.OfClasses(dataset, 1, 2);

        var relabeled = new RelabeledDataset(subset, [2, 1]);

        Assert.That(relabeled.ClassCount, Is.EqualTo(2));
        Assert.That(relabeled.GetLabels().Take(30).Distinct(), Is.EqualTo(new[] { 1 }), "class 1 becomes 1 (second listed)");
        Assert.That(relabeled.GetLabels().Skip(30).Distinct(), Is.EqualTo(new[] { 0 }), "class 2 becomes 0 (first listed)");
        Assert.That(relabeled.ClassNames, Is.EqualTo(new[] { "2", "1" }));
    }

    [Test]
    public void Relabeled_ImageOfAnotherClass_NamesIt()
    {
        using var dataset = Unbalanced();

        var e = Assert.Throws<ArgumentException>(() => _ = new RelabeledDataset(dataset, [0, 1]));

        Assert.That(e!.Message, Does.Contain("Image 80 has label 2"));
    }
}
