using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// The shipped datasets cut into the roles of the experiment. The splits are fixed (seed 2021), so every
/// arm and seed is scored on the same test images; only the unlabelled target sample changes with the seed.
/// </summary>
internal sealed class ExperimentData : IDisposable
{
    private const long SplitSeed = 2021;
    private readonly List<IDisposable> _owned = [];

    public ExperimentData(DirectoryInfo data, Pairing pairing)
    {
        string fashion = Path.Combine(data.FullName, "fashion-mnist");
        var source = Own(IdxFormat.LoadLabeled(Path.Combine(fashion, "train-0to4-images-idx3-ubyte.gz"), Path.Combine(fashion, "train-0to4-labels-idx1-ubyte.gz")));
        var fashionTest = Own(IdxFormat.LoadLabeled(Path.Combine(fashion, "t10k-images-idx3-ubyte.gz"), Path.Combine(fashion, "t10k-labels-idx1-ubyte.gz"),
            classNames: ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]));

        Source = source;
        // Retention: kNN bank of 1,000 source-training images per class, scored on 400 held-out test images per class.
        SourceBank = DatasetSplits.FewPerClass(source, 1000, SplitSeed);
        SourceTest = DatasetSplits.FewPerClass(new RelabeledDataset(DatasetSplits.OfClasses(fashionTest, 0, 1, 2, 3, 4), [0, 1, 2, 3, 4]), 400, SplitSeed);

        ILabeledImageDataset pool;
        if (pairing == Pairing.Near)
        {
            pool = new RelabeledDataset(DatasetSplits.OfClasses(fashionTest, 5, 6, 7, 8, 9), [5, 6, 7, 8, 9]);
            Description = "near: Fashion-MNIST classes 0–4 → Fashion-MNIST classes 5–9 (sandal, shirt, sneaker, bag, ankle boot)";
        }
        else
        {
            string mnist = Path.Combine(data.FullName, "mnist");
            pool = Own(IdxFormat.LoadLabeled(Path.Combine(mnist, "digits-images-idx3-ubyte.gz"), Path.Combine(mnist, "digits-labels-idx1-ubyte.gz")));
            Description = "far: Fashion-MNIST classes 0–4 → MNIST digits";
        }

        // Target splits: 2,000 test images, 500 for validation (choosing settings), the rest the labelled train split.
        double test = 2000.0 / pool.Count;
        double validation = 500.0 / pool.Count;
        var split = DatasetSplits.Stratified(pool, 1 - test - validation, validation, test, SplitSeed);
        TargetTrain = split.Train;
        TargetValidation = split.Validation!;
        TargetTest = split.Test!;
    }

    public string Description { get; }

    /// <summary>
    /// 256 held-out source images without labels: the probe the engine and the evaluation measure drift on (the
    /// same for every arm and seed).
    /// </summary>
    public IImageDataset SourceProbe => DatasetSplits.Sample(SourceTest, 256, SplitSeed).WithoutLabels();

    /// <summary>20 labelled validation images per class: the few labels of the leave-one-out kNN monitor.</summary>
    public ILabeledImageDataset FewLabels => DatasetSplits.FewPerClass(TargetValidation, 20, SplitSeed);

    /// <summary>D_s: the pretraining images, the pool replay draws from.</summary>
    public ILabeledImageDataset Source { get; }

    public ILabeledImageDataset SourceBank { get; }

    public ILabeledImageDataset SourceTest { get; }

    public ILabeledImageDataset TargetTrain { get; }

    public ILabeledImageDataset TargetValidation { get; }

    public ILabeledImageDataset TargetTest { get; }

    /// <summary>The unlabelled finetuning set D_t of one seed: a uniform sample of the target train split.</summary>
    public IImageDataset UnlabeledTarget(int size, long seed) => DatasetSplits.Sample(TargetTrain, size, seed).WithoutLabels();

    public void Dispose()
    {
        foreach (var item in _owned)
        {
            item.Dispose();
        }
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }
}
