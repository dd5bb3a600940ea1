using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The image sets of <c>uft evaluate</c>, decoded into memory once (evaluation reads them once per backbone),
/// with the splits the command line leaves implicit drawn stratified and seeded. Target labels are optional:
/// without <c>--train</c> only the label-free monitors (and, with source labels, retention) are measured.
/// </summary>
internal sealed class EvaluationData : IDisposable
{
    /// <summary>What to do with images that have no labels, appended to a refusal of --train.</summary>
    public const string WithoutLabels = "If the images have no labels, give them as --unlabelled instead of --train: uft evaluate then measures the label-free monitors (RankMe, alignment, uniformity).";

    private readonly List<IDisposable> _owned = [];

    private EvaluationData()
    {
    }

    /// <summary>The labelled target splits and the monitor images; null without --train.</summary>
    public TransferEvaluationSets? Sets { get; private set; }

    /// <summary>Target images for the label-free monitors: --unlabelled, or the --train images without their labels.</summary>
    public IImageDataset Monitor { get; private set; } = null!;

    /// <summary>The retention kNN bank; null without --source-test.</summary>
    public ILabeledImageDataset? SourceBank { get; private set; }

    /// <summary>The source images retention is scored on; null without --source-test.</summary>
    public ILabeledImageDataset? SourceTest { get; private set; }

    public static EvaluationData Load(string? train, string? test, string? validation, string? sourceTrain, string? sourceTest, string? unlabelled,
        ImageFolderOptions options, long seed, ILogger logger, Catalog<ImageSourceEntry>? sources = null)
    {
        // EvaluateCommand has refused neither --train nor --unlabelled, before loading a model.
        if (train is null && (test is not null || validation is not null))
        {
            throw new UsageException($"{(test is not null ? "--test" : "--validation")} needs --train: the labelled target images the kNN bank and the probe are built from.");
        }

        var data = new EvaluationData();
        try
        {
            InMemoryLabeledImageDataset Labeled(string path, string option, string? hint = null) =>
                data.Own(DataArguments.Labeled(path, option, options, logger, withoutLabels: hint, sources: sources).LoadIntoMemory());

            InMemoryLabeledImageDataset? trainSet = train is null ? null : Labeled(train, "--train", WithoutLabels);
            var target = trainSet is null ? default : Target(trainSet, train!, test, validation, seed, (path, option) => Labeled(path, option));

            if (sourceTest is not null)
            {
                var scored = Labeled(sourceTest, "--source-test");
                if (sourceTrain is null)
                {
                    var split = DatasetSplits.Stratified(scored, train: 0.5, validation: 0, test: 0.5, seed);
                    data.SourceBank = split.Train;
                    data.SourceTest = split.Test;
                }
                else
                {
                    data.SourceBank = Labeled(sourceTrain, "--source-train");
                    data.SourceTest = scored;
                }
            }
            else if (sourceTrain is not null)
            {
                throw new UsageException("--source-train needs --source-test (the source images retention is scored on).");
            }

            data.Monitor = unlabelled is null ? trainSet!.WithoutLabels() : data.Own(DataArguments.Unlabeled(unlabelled, "--unlabelled", options, logger, sources).LoadIntoMemory());
            if (data.Monitor.Count < 2)
            {
                throw new UsageException($"{(unlabelled is null ? "--train" : "--unlabelled")}: {data.Monitor.Count} image; the label-free monitors need at least 2.");
            }

            if (target.Bank is not null)
            {
                data.Sets = new TransferEvaluationSets
                {
                    TargetTrain = target.Bank,
                    TargetValidation = target.Validation,
                    TargetTest = target.Test!,
                    SourceBank = data.SourceBank,
                    SourceTest = data.SourceTest,
                    Monitor = data.Monitor,
                };
            }

            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    /// <summary>The target bank, validation and test splits from --train (and --test, --validation when given).</summary>
    private static (ILabeledImageDataset? Bank, ILabeledImageDataset? Validation, ILabeledImageDataset? Test) Target(ILabeledImageDataset trainSet, string train, string? test, string? validation, long seed, Func<string, string, ILabeledImageDataset> labeled)
    {
        ILabeledImageDataset bank;
        ILabeledImageDataset? val;
        ILabeledImageDataset testSet;
        if (test is null || Path.GetFullPath(test) == Path.GetFullPath(train))
        {
            // One labelled set: 40% bank, 20% probe validation, 40% test, per class.
            var split = DatasetSplits.Stratified(trainSet, train: 0.4, validation: validation is null ? 0.2 : 0, test: validation is null ? 0.4 : 0.6, seed);
            bank = split.Train;
            val = validation is null ? split.Validation : labeled(validation, "--validation");
            testSet = split.Test!;
        }
        else
        {
            testSet = labeled(test, "--test");
            if (validation is null)
            {
                var split = DatasetSplits.Stratified(trainSet, train: 0.8, validation: 0.2, test: 0, seed);
                bank = split.Train;
                val = split.Validation;
            }
            else
            {
                bank = trainSet;
                val = labeled(validation, "--validation");
            }
        }

        return (bank, val, testSet);
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }
}
