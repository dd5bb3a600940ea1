using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The labelled sets of <c>uft evaluate</c>, decoded into memory once (evaluation reads them once per backbone),
/// with the splits the command line leaves implicit drawn stratified and seeded.
/// </summary>
internal sealed class EvaluationData : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    private EvaluationData()
    {
    }

    public TransferEvaluationSets Sets { get; private set; } = null!;

    public static EvaluationData Load(string train, string? test, string? validation, string? sourceTrain, string? sourceTest, string? unlabelled,
        ImageFolderOptions options, long seed, ILogger logger)
    {
        var data = new EvaluationData();
        try
        {
            InMemoryLabeledImageDataset Labeled(string path, string option) => data.Own(DataArguments.Labeled(path, option, options, logger).LoadIntoMemory());

            var trainSet = Labeled(train, "--train");
            ILabeledImageDataset bank;
            ILabeledImageDataset? val;
            ILabeledImageDataset testSet;
            if (test is null || Path.GetFullPath(test) == Path.GetFullPath(train))
            {
                // One labelled set: 40% bank, 20% probe validation, 40% test, per class.
                var split = DatasetSplits.Stratified(trainSet, train: 0.4, validation: validation is null ? 0.2 : 0, test: validation is null ? 0.4 : 0.6, seed);
                bank = split.Train;
                val = validation is null ? split.Validation : Labeled(validation, "--validation");
                testSet = split.Test!;
            }
            else
            {
                testSet = Labeled(test, "--test");
                if (validation is null)
                {
                    var split = DatasetSplits.Stratified(trainSet, train: 0.8, validation: 0.2, test: 0, seed);
                    bank = split.Train;
                    val = split.Validation;
                }
                else
                {
                    bank = trainSet;
                    val = Labeled(validation, "--validation");
                }
            }

            ILabeledImageDataset? sourceBank = null;
            ILabeledImageDataset? sourceTestSet = null;
            if (sourceTest is not null)
            {
                var scored = Labeled(sourceTest, "--source-test");
                if (sourceTrain is null)
                {
                    var split = DatasetSplits.Stratified(scored, train: 0.5, validation: 0, test: 0.5, seed);
                    sourceBank = split.Train;
                    sourceTestSet = split.Test;
                }
                else
                {
                    sourceBank = Labeled(sourceTrain, "--source-train");
                    sourceTestSet = scored;
                }
            }
            else if (sourceTrain is not null)
            {
                throw new UsageException("--source-train needs --source-test (the source images retention is scored on).");
            }

            IImageDataset monitor = unlabelled is null ? trainSet.WithoutLabels() : data.Own(DataArguments.Unlabeled(unlabelled, "--unlabelled", options, logger).LoadIntoMemory());
            data.Sets = new TransferEvaluationSets
            {
                TargetTrain = bank,
                TargetValidation = val,
                TargetTest = testSet,
                SourceBank = sourceBank,
                SourceTest = sourceTestSet,
                Monitor = monitor,
            };
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

    private T Own<T>(T item)
        where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }
}
