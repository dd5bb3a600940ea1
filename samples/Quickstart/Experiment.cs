using System.Diagnostics;
using Spectre.Console;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>Labelled kNN of a backbone at one monitor point of a run (the --study mode measures these).</summary>
internal sealed record PointEvaluation(string Arm, long Seed, long Step, double TargetKnn, double SourceKnn);

/// <summary>What the experiment measured: the report's numbers, each run's monitor history, and (--study) labelled kNN at every point.</summary>
internal sealed record ExperimentResult(List<TransferMeasurement> Measurements, List<MonitorTrace> Traces, List<PointEvaluation> Points);

/// <summary>
/// Runs every arm for every seed from the shipped pretrained source model, evaluates each finetuned
/// backbone — at its last step and at the step its monitoring criterion selected — and collects the
/// measurements and monitor histories.
/// </summary>
internal sealed class Experiment(Settings settings, ExperimentData data, SourceModel source)
{
    private readonly TransferEvaluator _evaluator = new(x => source.Augmentation.Evaluate(x, 28, 28), probe: new LinearProbe([1e-4, 1e-3, 1e-2, 1e-1, 1]), monitorViews: source.Augmentation);
    private readonly IImageDataset _sourceProbe = data.SourceProbe;

    /// <summary>
    /// Runs <paramref name="arms"/> for every seed; <paramref name="seedDone"/> sees the results so far after each seed
    /// (the study writes its tables then), <paramref name="runDone"/> after each run (the sweep saves it then). A run
    /// <paramref name="done"/> says is already measured is skipped.
    /// </summary>
    public ExperimentResult Run(IReadOnlyList<Arm> arms, Action<ExperimentResult>? seedDone = null, Func<Arm, long, bool>? done = null, Action<ExperimentResult, Arm, long>? runDone = null)
    {
        var result = new ExperimentResult([], [], []);

        // An untrained arm sees the same model and the same (seed-independent) evaluation sets for every
        // seed, so it is evaluated once and its labelled numbers are recorded under each seed.
        var untrained = new Dictionary<string, TransferEvaluation>();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                foreach (long seed in settings.Seeds)
                {
                    var target = data.UnlabeledTarget(settings.TargetSize, seed);
                    // The study and the sweep skip the linear probe (no validation split given): it needs kNN only, and the probe
                    // is the slowest part of an evaluation.
                    var sets = new TransferEvaluationSets
                    {
                        TargetTrain = data.TargetTrain,
                        TargetValidation = settings.Study || settings.Sweep is not null ? null : data.TargetValidation,
                        TargetTest = data.TargetTest,
                        SourceBank = data.SourceBank,
                        SourceTest = data.SourceTest,
                    };
                    foreach (var arm in arms)
                    {
                        if (done?.Invoke(arm, seed) == true)
                        {
                            continue;
                        }

                        var task = context.AddTask($"seed {seed}: {arm.Name}", maxValue: arm.Train ? arm.Steps(settings) : 1);
                        var clock = Stopwatch.StartNew();
                        using var model = source.Load();
                        var backbone = model.Backbone;
                        TransferEvaluation metrics;
                        if (!arm.Train)
                        {
                            metrics = untrained.TryGetValue(arm.Name, out var known) ? known : untrained[arm.Name] = _evaluator.Evaluate(backbone, sets, seed);
                            result.Measurements.AddRange(metrics.ToMeasurements(arm.Name, seed));
                            AddValidationKnn(result, arm, seed, backbone);
                            result.Measurements.AddRange(LabelFree(backbone, backbone, target, seed, arm.Name));
                        }
                        else
                        {
                            var run = Finetune(arm, seed, target, backbone, model.Head!, task, result.Points);
                            task.Description = $"seed {seed}: {arm.Name} (evaluating)";
                            metrics = _evaluator.Evaluate(backbone, sets, seed);
                            result.Measurements.AddRange(metrics.ToMeasurements(arm.Name, seed));
                            AddValidationKnn(result, arm, seed, backbone); // the last step's weights, like every number above (before any restore)
                            using (var start = source.Load())
                            {
                                result.Measurements.AddRange(LabelFree(start.Backbone, backbone, target, seed, arm.Name));
                            }

                            // The step the label-free criterion selected, measured like the last one (kNN only).
                            var selected = (TargetKnn: metrics.TargetKnn, SourceKnn: metrics.SourceKnn!.Value);
                            if (run.Selected!.Step != run.Steps)
                            {
                                run.RestoreSelected();
                                selected = Knn(backbone);
                            }

                            result.Measurements.Add(new TransferMeasurement(arm.Name, seed, TransferMetrics.TargetKnnSelected, selected.TargetKnn));
                            result.Measurements.Add(new TransferMeasurement(arm.Name, seed, TransferMetrics.SourceKnnSelected, selected.SourceKnn));
                            result.Traces.Add(new MonitorTrace(arm.Name, seed, run.Monitoring, run.Selected.Step));
                        }

                        task.Value = task.MaxValue;
                        // Rounded as report.md rounds (ReportFormat), so the screen and the report agree to the last digit.
                        task.Description = $"seed {seed}: {arm.Name}: target kNN {ReportFormat.Value(metrics.TargetKnn, TransferMetrics.TargetKnn)} %, retention {ReportFormat.Value(metrics.SourceKnn!.Value, TransferMetrics.SourceKnn)} % ({clock.Elapsed.TotalSeconds:F0} s)";
                        task.StopTask();
                        if (!AnsiConsole.Profile.Capabilities.Interactive)
                        {
                            // In a pipe Spectre prints a task's progress as it passes thresholds, and the arm's end could
                            // fall between two of them: its result line is printed here, every time.
                            AnsiConsole.Profile.Out.Writer.WriteLine($"{task.Description} — done (100 %)"); // unfolded: Spectre folds at 80 columns in a pipe
                        }

                        runDone?.Invoke(result, arm, seed);
                    }

                    seedDone?.Invoke(result);
                }
            });

        return result;
    }

    /// <summary>The label-free numbers of a backbone: monitors on the target images, drift from the pretrained backbone on the source probe.</summary>
    private IEnumerable<TransferMeasurement> LabelFree(Backbone start, Backbone finetuned, IImageDataset target, long seed, string arm)
    {
        var comparison = _evaluator.CompareWithoutLabels(start, finetuned, target, _sourceProbe, seed);
        var drift = comparison.SourceDrift!;
        yield return new TransferMeasurement(arm, seed, TransferMetrics.RankMe, comparison.Finetuned.RankMe);
        yield return new TransferMeasurement(arm, seed, TransferMetrics.Uniformity, comparison.Finetuned.Uniformity);
        yield return new TransferMeasurement(arm, seed, TransferMetrics.Alignment, comparison.Finetuned.Alignment!.Value);
        yield return new TransferMeasurement(arm, seed, TransferMetrics.SourceCka, drift.LinearCka);
        yield return new TransferMeasurement(arm, seed, TransferMetrics.SourceNeighbourhoods, drift.NeighbourhoodPreservation);
    }

    /// <summary>Target kNN and source kNN (retention) of a backbone, as the full evaluation measures them.</summary>
    private (double TargetKnn, double SourceKnn) Knn(Backbone backbone)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        TorchSharp.torch.Tensor Features(IImageDataset images) => FeatureExtractor.Extract(backbone, images, x => source.Augmentation.Evaluate(x, 28, 28));
        var knn = _evaluator.Knn;
        return (
            knn.Accuracy(Features(data.TargetTrain), data.TargetTrain.GetLabels(), data.TargetTrain.ClassCount, Features(data.TargetTest), data.TargetTest.GetLabels()),
            knn.Accuracy(Features(data.SourceBank), data.SourceBank.GetLabels(), data.SourceBank.ClassCount, Features(data.SourceTest), data.SourceTest.GetLabels()));
    }

    /// <summary>The sweep's labelled choice: kNN on the validation split (the test split stays unseen by every choice).</summary>
    private void AddValidationKnn(ExperimentResult result, Arm arm, long seed, Backbone backbone)
    {
        if (settings.Sweep is not null)
        {
            result.Measurements.Add(new TransferMeasurement(arm.Name, seed, SweepAnalysis.ValidationKnn, ValidationKnn(backbone)));
        }
    }

    /// <summary>kNN accuracy on the target validation split, the target train split as the bank.</summary>
    private double ValidationKnn(Backbone backbone)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        TorchSharp.torch.Tensor Features(IImageDataset images) => FeatureExtractor.Extract(backbone, images, x => source.Augmentation.Evaluate(x, 28, 28));
        return _evaluator.Knn.Accuracy(Features(data.TargetTrain), data.TargetTrain.GetLabels(), data.TargetTrain.ClassCount, Features(data.TargetValidation), data.TargetValidation.GetLabels());
    }

    /// <summary>The engine options every run of the experiment shares (a run of <paramref name="steps"/> steps with seed <paramref name="seed"/>).</summary>
    public FinetuneOptions EngineOptions(int steps, long seed)
    {
        var options = new FinetuneOptions
        {
            Steps = steps,
            BatchSize = settings.BatchSize,
            LearningRate = settings.LearningRate,
            WarmupFraction = 0.05,
            WeightDecay = 5e-4,
            Seed = seed,
            Device = settings.Device,
            MixingCompute = settings.MixingCompute,
            ProgressEverySteps = 5,
        };
        options.Monitoring.Criterion = settings.Criterion;
        options.Precision = settings.Precision; // training only: monitors and evaluation measure in float32
        return options;
    }

    /// <summary>MoCo v2 with the source model's pretraining settings.</summary>
    public static MocoV2 Method() => new(new MocoV2Options { Temperature = 0.2, Momentum = 0.99 });

    /// <summary>What a run of <paramref name="arm"/> trains from and on.</summary>
    public FinetuneRequest Request(Arm arm, IImageDataset target, Backbone backbone, ProjectionHead head) => new()
    {
        Backbone = backbone,
        Head = head,
        Target = target,
        // Labels of the source reach the engine only for class-balanced selection, which reads them to choose the subset.
        Source = !arm.Replay ? null : arm.Selection == ReplaySelection.ClassBalanced ? data.Source : data.Source.WithoutLabels(),
        SourceProbe = _sourceProbe,
        Validation = data.FewLabels,
    };

    private FinetuneResult Finetune(Arm arm, long seed, IImageDataset target, Backbone backbone, ProjectionHead head, ProgressTask task, List<PointEvaluation> points)
    {
        var engine = FinetuneEngine.Create(EngineOptions(arm.Steps(settings), seed), Method(), arm.ReplaySampler(settings), arm.MixingStrategy(settings), source.Augmentation);
        var request = Request(arm, target, backbone, head);
        if (settings.Study)
        {
            // Step 0 is the pretrained backbone, measured before the first step (IProgress reports follow steps).
            var start = Knn(backbone);
            points.Add(new PointEvaluation(arm.Name, seed, 0, start.TargetKnn, start.SourceKnn));
        }

        return engine.Run(request, new SynchronousProgress<FinetuneProgress>(p =>
        {
            task.Value = p.Step;
            if (settings.Study && p.Monitor is { } point)
            {
                // Reading features in eval mode changes no weight, statistic or random stream: the run goes on exactly as without.
                var (targetKnn, sourceKnn) = Knn(backbone);
                points.Add(new PointEvaluation(arm.Name, seed, point.Step, targetKnn, sourceKnn));
            }
        }));
    }
}
