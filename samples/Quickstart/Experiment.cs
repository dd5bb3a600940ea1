using System.Diagnostics;
using Spectre.Console;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Objectives;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// Runs every arm for every seed from the shipped pretrained source model, evaluates each finetuned
/// backbone, and collects the measurements.
/// </summary>
internal sealed class Experiment(Settings settings, ExperimentData data, SourceModel source)
{
    public List<TransferMeasurement> Run()
    {
        var measurements = new List<TransferMeasurement>();
        var arms = Arm.All();
        var evaluation = source.Augmentation;
        var evaluator = new TransferEvaluator(x => evaluation.Evaluate(x, 28, 28), probe: new LinearProbe([1e-4, 1e-3, 1e-2, 1e-1, 1]));

        var sets = new TransferEvaluationSets
        {
            TargetTrain = data.TargetTrain,
            TargetValidation = data.TargetValidation,
            TargetTest = data.TargetTest,
            SourceBank = data.SourceBank,
            SourceTest = data.SourceTest,
        };

        // An untrained arm sees the same model and the same (seed-independent) evaluation sets for every
        // seed, so it is evaluated once and its numbers are recorded under each seed.
        var untrained = new Dictionary<string, TransferEvaluation>();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                foreach (long seed in settings.Seeds)
                {
                    var target = data.UnlabeledTarget(settings.TargetSize, seed);
                    foreach (var arm in arms)
                    {
                        var task = context.AddTask($"seed {seed}: {arm.Name}", maxValue: arm.Train ? arm.Steps(settings) : 1);
                        var clock = Stopwatch.StartNew();
                        TransferEvaluation metrics;
                        if (!arm.Train && untrained.TryGetValue(arm.Name, out var known))
                        {
                            metrics = known;
                        }
                        else
                        {
                            using var model = source.Load();
                            var backbone = model.Backbone;
                            if (arm.Train)
                            {
                                Finetune(arm, seed, target, backbone, model.Head!, task);
                            }

                            task.Description = $"seed {seed}: {arm.Name} (evaluating)";
                            metrics = evaluator.Evaluate(backbone, sets, seed);
                            if (!arm.Train)
                            {
                                untrained[arm.Name] = metrics;
                            }
                        }

                        measurements.AddRange(metrics.ToMeasurements(arm.Name, seed));

                        task.Value = task.MaxValue;
                        task.Description = $"seed {seed}: {arm.Name}: target kNN {metrics.TargetKnn:P1}, retention {metrics.SourceKnn:P1} ({clock.Elapsed.TotalSeconds:F0} s)";
                        task.StopTask();
                    }
                }
            });

        return measurements;
    }

    private void Finetune(Arm arm, long seed, UnsupervisedFinetuning.Data.IImageDataset target, Backbone backbone, ProjectionHead head, ProgressTask task)
    {
        var options = new FinetuneOptions
        {
            Steps = arm.Steps(settings),
            BatchSize = settings.BatchSize,
            LearningRate = settings.LearningRate,
            WarmupFraction = 0.05,
            WeightDecay = 5e-4,
            Seed = seed,
            Device = settings.Device,
            MixingCompute = settings.MixingCompute,
            ProgressEverySteps = 5,
        };
        var method = new MocoV2(new MocoV2Options { Temperature = 0.2, Momentum = 0.99 });
        var engine = FinetuneEngine.Create(options, method, arm.ReplaySampler(settings), arm.MixingStrategy(settings), source.Augmentation);
        engine.Run(
            new FinetuneRequest { Backbone = backbone, Head = head, Target = target, Source = arm.Replay ? new UnsupervisedFinetuning.Data.UnlabeledView(data.Source) : null },
            new SynchronousProgress<FinetuneProgress>(p => task.Value = p.Step));
    }
}
