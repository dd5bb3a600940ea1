namespace UnsupervisedFinetuning.Data;

/// <summary>Seeded, reproducible ways to select and divide datasets.</summary>
public static class DatasetSplits
{
    /// <summary>
    /// Splits each class separately, so every part keeps the class proportions: per class of n images
    /// (shuffled with <paramref name="seed"/>), round(n·validation) go to validation, round(n·test) to
    /// test and the rest to train. Indices inside each part are in ascending order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fraction is negative, or they do not sum to 1.</exception>
    /// <exception cref="ArgumentException">The split would leave the train part empty.</exception>
    public static DatasetSplit Stratified(ILabeledImageDataset dataset, double train, double validation, double test, long seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        foreach (var (name, value) in new[] { (nameof(train), train), (nameof(validation), validation), (nameof(test), test) })
        {
            if (!(value >= 0 && value <= 1))
            {
                throw new ArgumentOutOfRangeException(name, value, "Split fractions must lie in [0, 1].");
            }
        }

        if (Math.Abs(train + validation + test - 1.0) > 1e-9)
        {
            throw new ArgumentOutOfRangeException(nameof(train), train + validation + test, $"Split fractions must sum to 1; got {train} + {validation} + {test}.");
        }

        var random = new SeededRandom(seed);
        var trainIdx = new List<int>();
        var validationIdx = new List<int>();
        var testIdx = new List<int>();
        foreach (var members in IndicesByClass(dataset))
        {
            int[] shuffled = [.. members];
            random.Shuffle(shuffled.AsSpan());
            int nValidation = (int)Math.Round(shuffled.Length * validation, MidpointRounding.AwayFromZero);
            int nTest = Math.Min((int)Math.Round(shuffled.Length * test, MidpointRounding.AwayFromZero), shuffled.Length - nValidation);
            validationIdx.AddRange(shuffled[..nValidation]);
            testIdx.AddRange(shuffled[nValidation..(nValidation + nTest)]);
            trainIdx.AddRange(shuffled[(nValidation + nTest)..]);
        }

        if (trainIdx.Count == 0)
        {
            throw new ArgumentException($"A split with train fraction {train} of {dataset.Count} images leaves no training images.", nameof(train));
        }

        return new DatasetSplit(
            Sorted(dataset, trainIdx)!,
            Sorted(dataset, validationIdx),
            Sorted(dataset, testIdx));
    }

    /// <summary>
    /// Exactly <paramref name="perClass"/> images of every class, drawn with <paramref name="seed"/>
    /// (the few-labels setting of evaluation), in ascending index order.
    /// </summary>
    /// <exception cref="ArgumentException">A class has fewer than <paramref name="perClass"/> images (named in the message).</exception>
    public static LabeledSubsetDataset FewPerClass(ILabeledImageDataset dataset, int perClass, long seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perClass);
        var random = new SeededRandom(seed);
        var chosen = new List<int>();
        var byClass = IndicesByClass(dataset);
        for (int c = 0; c < byClass.Length; c++)
        {
            if (byClass[c].Count < perClass)
            {
                throw new ArgumentException($"Class {c} ('{dataset.ClassNames[c]}') has {byClass[c].Count} images; {perClass} per class were requested.", nameof(perClass));
            }

            int[] shuffled = [.. byClass[c]];
            random.Shuffle(shuffled.AsSpan());
            chosen.AddRange(shuffled[..perClass]);
        }

        return Sorted(dataset, chosen)!;
    }

    /// <summary><paramref name="count"/> distinct images drawn uniformly with <paramref name="seed"/>, in ascending index order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is not in [1, dataset.Count].</exception>
    public static int[] SampleIndices(int datasetCount, int count, long seed)
    {
        if (count <= 0 || count > datasetCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Cannot draw {count} distinct images from {datasetCount}; expected 1 to {datasetCount}.");
        }

        int[] permutation = new SeededRandom(seed).Permutation(datasetCount);
        int[] chosen = permutation[..count];
        Array.Sort(chosen);
        return chosen;
    }

    /// <summary><paramref name="count"/> distinct images of <paramref name="dataset"/> drawn uniformly with <paramref name="seed"/>.</summary>
    public static SubsetDataset Sample(IImageDataset dataset, int count, long seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new SubsetDataset(dataset, SampleIndices(dataset.Count, count, seed));
    }

    /// <summary><paramref name="count"/> distinct labelled images drawn uniformly with <paramref name="seed"/>.</summary>
    public static LabeledSubsetDataset Sample(ILabeledImageDataset dataset, int count, long seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new LabeledSubsetDataset(dataset, SampleIndices(dataset.Count, count, seed));
    }

    /// <summary>The images whose label is in <paramref name="classes"/>, labels unchanged, in index order.</summary>
    /// <exception cref="ArgumentException">No image has one of those labels.</exception>
    public static LabeledSubsetDataset OfClasses(ILabeledImageDataset dataset, params int[] classes)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(classes);
        var wanted = classes.ToHashSet();
        var chosen = Enumerable.Range(0, dataset.Count).Where(i => wanted.Contains(dataset.GetLabel(i))).ToArray();
        if (chosen.Length == 0)
        {
            throw new ArgumentException($"No image has a label in {{{string.Join(", ", classes)}}}.", nameof(classes));
        }

        return new LabeledSubsetDataset(dataset, chosen);
    }

    /// <summary>Indices of each class, ascending (index = class).</summary>
    public static List<int>[] IndicesByClass(ILabeledImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var byClass = new List<int>[dataset.ClassCount];
        for (int c = 0; c < byClass.Length; c++)
        {
            byClass[c] = [];
        }

        for (int i = 0; i < dataset.Count; i++)
        {
            byClass[dataset.GetLabel(i)].Add(i);
        }

        return byClass;
    }

    private static LabeledSubsetDataset? Sorted(ILabeledImageDataset dataset, List<int> indices)
    {
        if (indices.Count == 0)
        {
            return null;
        }

        indices.Sort();
        return new LabeledSubsetDataset(dataset, indices);
    }
}
