using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tests.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Replay;

[TestFixture]
public sealed class ReplaySelectorTests
{
    /// <summary>n 1×1 grayscale images: the selectors under test read features, not pixels.</summary>
    private static InMemoryImageDataset Images(int n) =>
        InMemoryImageDataset.FromBytes(new byte[n], n, new ImageShape(1, 1, 1));

    /// <summary>Gaussian feature rows [n, d], fixed by <paramref name="seed"/>, as float32 (what the context serves).</summary>
    private static float[][] Gaussian(int n, int d, long seed)
    {
        var random = new SeededRandom(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => (float)random.NextGaussian()).ToArray()).ToArray();
    }

    private static Tensor AsTensor(float[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    /// <summary>A context whose "pretrained features" are the given rows for the target and the source.</summary>
    private static ReplaySelectionContext Context(IImageDataset target, IImageDataset source, float[][] targetFeatures, float[][] sourceFeatures, long seed = 5) =>
        new(target, source, new SeededRandom(seed), data => AsTensor(ReferenceEquals(data, source) ? sourceFeatures : targetFeatures));

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int k = 0; k < a.Length; k++)
        {
            dot += (double)a[k] * b[k];
            na += (double)a[k] * a[k];
            nb += (double)b[k] * b[k];
        }

        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>Textbook greedy k-center, in double precision: each next point is the one farthest from all chosen.</summary>
    private static int[] NaiveKCenter(float[][] points, int count, int first)
    {
        var chosen = new List<int> { first };
        while (chosen.Count < count)
        {
            int best = -1;
            double bestDistance = double.NegativeInfinity;
            for (int i = 0; i < points.Length; i++)
            {
                if (chosen.Contains(i))
                {
                    continue;
                }

                double nearest = chosen.Min(c => 1 - Cosine(points[i], points[c]));
                if (nearest > bestDistance)
                {
                    bestDistance = nearest;
                    best = i;
                }
            }

            chosen.Add(best);
        }

        return [.. chosen];
    }

    [Test]
    public void Coverage_MatchesNaiveGreedyKCenter()
    {
        float[][] source = Gaussian(300, 8, seed: 1);
        using var targetImages = Images(10);
        using var sourceImages = Images(300);
        using var context = Context(targetImages, sourceImages, Gaussian(10, 8, 2), source);

        int[] chosen = CoverageReplaySelector.Instance.Select(context, 25);

        int first = new SeededRandom(5).NextInt(300); // the context's generator, drawn the same way
        Assert.That(chosen, Is.EqualTo(NaiveKCenter(source, 25, first)));
    }

    [Test]
    public void Coverage_FourSeparatedClusters_OneImageFromEach()
    {
        // 4 tight clusters around orthogonal directions, 50 images each: covering them with 4 images needs one per cluster.
        var noise = Gaussian(200, 4, seed: 3);
        float[][] source = noise.Select((row, i) => row.Select((v, k) => (k == i / 50 ? 10f : 0f) + (0.1f * v)).ToArray()).ToArray();
        using var targetImages = Images(10);
        using var sourceImages = Images(200);
        using var context = Context(targetImages, sourceImages, Gaussian(10, 4, 2), source);

        int[] chosen = CoverageReplaySelector.Instance.Select(context, 4);

        Assert.That(chosen.Select(i => i / 50).OrderBy(c => c), Is.EqualTo(new[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void Coverage_IdenticalFeatures_StillDistinctImages()
    {
        float[][] source = Enumerable.Range(0, 20).Select(_ => new[] { 1f, 2f, 3f }).ToArray();
        using var targetImages = Images(4);
        using var sourceImages = Images(20);
        using var context = Context(targetImages, sourceImages, Gaussian(4, 3, 2), source);

        Assert.That(CoverageReplaySelector.Instance.Select(context, 20), Is.Unique.And.Length.EqualTo(20));
    }

    [Test]
    public void TargetNearest_MatchesNaiveHighestCosineToAnyTargetImage()
    {
        float[][] source = Gaussian(500, 6, seed: 4);
        float[][] target = Gaussian(40, 6, seed: 5);
        using var targetImages = Images(40);
        using var sourceImages = Images(500);
        using var context = Context(targetImages, sourceImages, target, source);

        int[] chosen = new TargetNearestReplaySelector().Select(context, 50);

        int[] expected = Enumerable.Range(0, 500).OrderByDescending(i => target.Max(t => Cosine(source[i], t))).Take(50).Order().ToArray();
        Assert.That(chosen.Order(), Is.EqualTo(expected));
    }

    [Test]
    public void TargetNearest_ChunkedScores_EqualOneMatrixProduct()
    {
        // More target images than fit one chunk row budget: 5,000 × 1,000 similarities, cut into chunks of 4,194 rows.
        using var source = randn(5000, 16, generator: new Generator(1));
        using var target = randn(1000, 16, generator: new Generator(2));

        using var scores = TargetNearestReplaySelector.NearestSimilarity(source, target);

        using var expected = nn.functional.normalize(source).matmul(nn.functional.normalize(target).t()).amax(1);
        Assert.That(scores.shape, Is.EqualTo(new long[] { 5000 }));
        Assert.That(scores.allclose(expected, rtol: 0, atol: 1e-6), Is.True);
    }

    [Test]
    public void TargetNearest_UniformFraction_KeepsTheNearestShareAndDrawsTheRestElsewhere()
    {
        float[][] source = Gaussian(500, 6, seed: 4);
        float[][] target = Gaussian(40, 6, seed: 5);
        using var targetImages = Images(40);
        using var sourceImages = Images(500);
        using var context = Context(targetImages, sourceImages, target, source);

        int[] chosen = new TargetNearestReplaySelector(uniformFraction: 0.25).Select(context, 40);

        var nearest = Enumerable.Range(0, 500).OrderByDescending(i => target.Max(t => Cosine(source[i], t))).Take(30).ToHashSet();
        Assert.That(chosen, Is.Unique.And.Length.EqualTo(40));
        Assert.That(chosen.Count(nearest.Contains), Is.EqualTo(30), "round(0.75 × 40) nearest images");
        Assert.That(chosen.Take(30).ToHashSet().SetEquals(nearest), Is.True);
    }

    [TestCase(-0.1)]
    [TestCase(1.5)]
    [TestCase(double.NaN)]
    public void TargetNearest_UniformFractionOutOfRange_IsRefused(double share)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TargetNearestReplaySelector(share));
    }

    [Test]
    public void ClassBalanced_EqualShares_ASmallClassGivesAllItHas()
    {
        // 5 classes: four of 100 images and one of 3. |S| = 43: the small class gives 3, the others 10 each.
        int[] labels = [.. Enumerable.Range(0, 403).Select(i => i < 400 ? i % 4 : 4)];
        using var source = new InMemoryLabeledImageDataset(zeros(403, 1, 1, 1, ScalarType.Byte), labels, 5);
        using var targetImages = Images(10);
        using var context = new ReplaySelectionContext(targetImages, source, new SeededRandom(7));

        int[] chosen = ClassBalancedReplaySelector.Instance.Select(context, 43);

        Assert.That(chosen, Is.Unique.And.Length.EqualTo(43));
        var perClass = chosen.GroupBy(i => labels[i]).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(perClass, Is.EqualTo(new Dictionary<int, int> { [0] = 10, [1] = 10, [2] = 10, [3] = 10, [4] = 3 }));
    }

    [Test]
    public void ClassBalanced_Remainder_GoesToSeededClassesOneEach()
    {
        int[] quota = ClassBalancedReplaySelector.Quotas([10, 10, 10, 1], 12, new SeededRandom(3));

        Assert.That(quota.Sum(), Is.EqualTo(12));
        Assert.That(quota[3], Is.EqualTo(1));
        Assert.That(quota[..3].Order(), Is.EqualTo(new[] { 3, 4, 4 }), "11 left over three classes: 3 each, then 2 extra to two of them");
        Assert.That(quota, Is.EqualTo(ClassBalancedReplaySelector.Quotas([10, 10, 10, 1], 12, new SeededRandom(3))), "seeded");
    }

    [Test]
    public void ClassBalanced_UnlabeledSource_SaysWhatToPass()
    {
        using var labeled = new InMemoryLabeledImageDataset(zeros(50, 1, 1, 1, ScalarType.Byte), new int[50], 1);
        using var targetImages = Images(10);
        using var context = new ReplaySelectionContext(targetImages, labeled.WithoutLabels(), new SeededRandom(7));

        var e = Assert.Throws<ArgumentException>(() => ClassBalancedReplaySelector.Instance.Select(context, 5));

        Assert.That(e!.Message, Does.Contain("needs the source set's labels").And.Contain("UnlabeledView").And.Contain("not .WithoutLabels()"));
    }

    /// <summary>n images of 1×2 px holding their own index (high byte, low byte), so features can be looked up from pixels.</summary>
    private static InMemoryImageDataset Indexed(int n) =>
        InMemoryImageDataset.FromBytes([.. Enumerable.Range(0, n).SelectMany(i => new[] { (byte)(i / 256), (byte)(i % 256) })], n, new ImageShape(1, 1, 2));

    /// <summary>The feature rows of whatever images (or subset of them) the context asks about, found by the index in their pixels.</summary>
    private static Func<IImageDataset, Tensor> RowsByPixelIndex(float[][] rows) => data =>
    {
        using var pixels = data.GetBatch([.. Enumerable.Range(0, data.Count)]);
        var bytes = pixels.data<byte>().ToArray();
        return AsTensor([.. Enumerable.Range(0, data.Count).Select(k => rows[(bytes[2 * k] * 256) + bytes[(2 * k) + 1]])]);
    };

    [Test]
    public void SelectionPool_TheRuleChoosesAmongAUniformSample_MappedBackToSourceIndices()
    {
        float[][] source = Gaussian(300, 8, seed: 11);
        using var targetImages = Indexed(10);
        using var sourceImages = Indexed(300);
        var replay = new SparseSourceReplay(new SparseReplayOptions { Count = 12, Selection = ReplaySelection.Coverage, SelectionPool = 100 });
        using var context = new ReplaySelectionContext(targetImages, sourceImages, new SeededRandom(5), RowsByPixelIndex(source));

        int[] chosen = replay.SelectSubset(context);

        // The reference: the same generator draws the pool, then k-center's first image; k-center runs on the pool's rows.
        var random = new SeededRandom(5);
        int[] pool = [.. random.Permutation(300)[..100].Order()];
        int[] expected = [.. NaiveKCenter([.. pool.Select(i => source[i])], 12, random.NextInt(100)).Select(k => pool[k]).Order()];
        Assert.That(chosen, Is.EqualTo(expected));
        Assert.That(replay.Settings["SelectionPool"], Is.EqualTo("100"));
    }

    [Test]
    public void SelectionPool_ClassBalanced_SeesThePoolsLabels()
    {
        int[] labels = [.. Enumerable.Range(0, 300).Select(i => i % 5)];
        using var source = new InMemoryLabeledImageDataset(zeros(300, 1, 1, 1, ScalarType.Byte), labels, 5);
        using var targetImages = Images(10);
        using var context = new ReplaySelectionContext(targetImages, source, new SeededRandom(9));

        int[] chosen = new SparseSourceReplay(new SparseReplayOptions { Count = 20, Selection = ReplaySelection.ClassBalanced, SelectionPool = 60 }).SelectSubset(context);

        var pool = new SeededRandom(9).Permutation(300)[..60].ToHashSet();
        Assert.That(chosen.All(pool.Contains), Is.True, "every chosen image is from the pool");
        Assert.That(chosen.GroupBy(i => labels[i]).Select(g => g.Count()), Is.EquivalentTo(new[] { 4, 4, 4, 4, 4 }));
    }

    [Test]
    public void ClassBalanced_LabelOutsideTheDeclaredClasses_IsNamed()
    {
        using var targetImages = Images(10);
        using var context = new ReplaySelectionContext(targetImages, new BadLabels(), new SeededRandom(1));

        var e = Assert.Throws<ArgumentException>(() => ClassBalancedReplaySelector.Instance.Select(context, 2));

        Assert.That(e!.Message, Does.Contain("Source image 3 has label 7; the source set declares 2 classes"));
    }

    /// <summary>A labelled set whose fourth image claims a class it does not declare (a buggy custom dataset).</summary>
    private sealed class BadLabels : ILabeledImageDataset
    {
        public int Count => 5;

        public ImageShape Shape => new(1, 1, 1);

        public int ClassCount => 2;

        public IReadOnlyList<string> ClassNames => ["a", "b"];

        public int GetLabel(int index) => index == 3 ? 7 : index % 2;

        public Tensor GetBatch(ReadOnlySpan<int> indices) => zeros(indices.Length, 1, 1, 1, ScalarType.Byte);
    }

    [Test]
    public void SelectionPool_SmallerThanTheSubset_IsNamed()
    {
        using var targetImages = Images(40);
        using var sourceImages = Images(300);
        using var context = new ReplaySelectionContext(targetImages, sourceImages, new SeededRandom(5));

        var e = Assert.Throws<ArgumentException>(() => new SparseSourceReplay(new SparseReplayOptions { Count = 20, SelectionPool = 10 }).SelectSubset(context));

        Assert.That(e!.Message, Does.Contain("SparseReplayOptions.SelectionPool is 10, fewer than the 20 images to replay"));
        Assert.That(new SparseSourceReplay().Settings.ContainsKey("SelectionPool"), Is.False, "no pool: the settings (and fingerprints) read as before");
    }

    [TestCase(ReplaySelection.Uniform, "uniform")]
    [TestCase(ReplaySelection.Coverage, "coverage")]
    [TestCase(ReplaySelection.TargetNearest, "target-nearest")]
    [TestCase(ReplaySelection.ClassBalanced, "class-balanced")]
    public void Options_SelectionNamesTheRule(ReplaySelection selection, string name)
    {
        var replay = new SparseSourceReplay(new SparseReplayOptions { Selection = selection });

        Assert.That(replay.Selector.Name, Is.EqualTo(name));
        Assert.That(replay.Settings["Selection"], Is.EqualTo(name));
        Assert.That(replay.Settings.ContainsKey("UniformFraction"), Is.EqualTo(selection == ReplaySelection.TargetNearest),
            "the uniform share is a setting of target-nearest only, so other runs' fingerprints are as before");
    }

    [Test]
    public void Options_UniformFractionWithAnotherRule_OrASelectorToo_AreRefused()
    {
        var e = Assert.Throws<OptionsValidationException>(() => _ = new SparseSourceReplay(new SparseReplayOptions { Selection = ReplaySelection.Coverage, UniformFraction = 0.2 }));
        Assert.That(e!.Message, Does.Contain("SparseReplayOptions.UniformFraction is 0.2; expected 0 unless Selection is TargetNearest (Selection is Coverage)"));

        var both = Assert.Throws<ArgumentException>(() => _ = new SparseSourceReplay(new SparseReplayOptions { Selection = ReplaySelection.Coverage }, UniformReplaySelector.Instance));
        Assert.That(both!.Message, Does.Contain("Selection is Coverage and a selector ('uniform') was given too"));

        var share = new SparseSourceReplay(new SparseReplayOptions { Selection = ReplaySelection.TargetNearest, UniformFraction = 0.3 });
        Assert.That(((TargetNearestReplaySelector)share.Selector).UniformFraction, Is.EqualTo(0.3));
    }

    [Test]
    public void Engine_CoverageSelection_IsKCenterOfThePretrainedFeatures_AndIsCheckpointed()
    {
        using var target = EngineTestData.Images(48, seed: 21);
        using var source = EngineTestData.Images(120, seed: 22);
        using var model = EngineTestData.Model(seed: 4);
        var options = EngineTestData.Options(steps: 2);
        var views = AugmentationPresets.Create(options.Augmentation, AugmentationPreset.MocoV2, 1, 16);

        // Expected: k-center greedy on the pretrained backbone's evaluation-view features, from the replay stream's first draw.
        int[] expected;
        using (var features = FeatureExtractor.Extract(model, source, x => views.Evaluate(x, 16, 16)))
        {
            expected = [.. CoverageReplaySelector.KCenterGreedy(features, 12, new SeededRandom(options.Seed).Fork("replay").NextInt(120)).Order()];
        }

        using var folder = new TempDirectory();
        string checkpoint = Path.Combine(folder.Path, EngineCheckpoint.FileName);
        options.CheckpointDirectory = folder.Path;
        var replay = new SparseSourceReplay(new SparseReplayOptions { Selection = ReplaySelection.Coverage, Ratio = 0.25 });
        var result = FinetuneEngine.Create(options, EngineTestData.Method(MethodKind.MocoV2), replay, augmentation: views)
            .Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });

        Assert.That(result.ReplayedSourceIndices, Is.EqualTo(expected));
        Assert.That(expected, Is.Not.EqualTo(new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25 }).SelectSubset(
            new ReplaySelectionContext(target, source, new SeededRandom(options.Seed).Fork("replay")))), "a different subset from the uniform rule's");
        Assert.That(EngineCheckpoint.ReadHeader(checkpoint).Subset, Is.EqualTo(expected), "the chosen indices are in the checkpoint, so a resume replays them");
    }
}
