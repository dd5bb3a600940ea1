using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tests.Engine;
using UnsupervisedFinetuning.Tuning;

namespace UnsupervisedFinetuning.Tests.Tuning;

[TestFixture]
public sealed class FinetuneSearchTests
{
    private static IReadOnlyList<FinetuneCandidate> Grid() => FinetuneCandidate.ReplayMixingGrid([0, 0.5], [null, 1.0]);

    [Test]
    public void ReplayMixingGrid_EveryCombination_NamedAndBuilt()
    {
        var grid = FinetuneCandidate.ReplayMixingGrid([0, 0.25], [null, 0.5], new SparseReplayOptions { Selection = ReplaySelection.Coverage, Count = 9 });

        Assert.That(grid.Select(c => c.Name), Is.EqualTo(new[] { "replay 0", "replay 0.25", "replay 0 + mixup α 0.5", "replay 0.25 + mixup α 0.5" }));
        Assert.That(grid[0].Replay, Is.SameAs(NoReplay.Instance));
        Assert.That(grid[0].Mixing, Is.SameAs(NoMixing.Instance));
        var replay = (SparseSourceReplay)grid[1].Replay;
        Assert.That((replay.Settings["Ratio"], replay.Settings["Count"], replay.Settings["Selection"]), Is.EqualTo(("0.25", "auto", "coverage")), "the ratio replaces the template's count; its rule is kept");
        Assert.That(grid[3].Mixing.Settings["Alpha"], Is.EqualTo("0.5"));
        Assert.Throws<ArgumentException>(() => FinetuneCandidate.ReplayMixingGrid([-1], [null]));
        Assert.Throws<ArgumentException>(() => FinetuneCandidate.ReplayMixingGrid([0], [0.0]));
    }

    [Test]
    public void Run_EachTrialIsThatCandidatesOwnShortRun_TheBestScoreWins_AndTheWeightsAreRestored()
    {
        using var target = EngineTestData.Images(48, seed: 31);
        using var source = EngineTestData.Images(64, seed: 32);
        using var model = EngineTestData.Model(seed: 6);
        var pretrained = EngineTestData.Snapshot(model);
        var options = EngineTestData.Options();
        var candidates = Grid();

        var result = FinetuneSearch.Run(options, EngineTestData.Method(MethodKind.MocoV2), candidates, new FinetuneRequest { Backbone = model, Target = target, Source = source },
            new FinetuneSearchOptions { BudgetSteps = 4 * 3 + 2, MinTrialSteps = 1 });

        Assert.That(result.Criterion, Is.EqualTo(MonitorCriterion.Uniformity), "no labels: the label-free default");
        Assert.That(result.Trials.Select(t => t.Steps), Is.EqualTo(new long[] { 3, 3, 3, 3 }), "⌊14 / 4⌋ steps each");
        Assert.That(result.Best.Score, Is.EqualTo(result.Trials.Max(t => t.Score)));
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(model), pretrained), Is.True, "the caller's backbone is the pretrained one again");

        // The reference: each candidate trained on its own for 3 steps from the same weights, monitored at its ends.
        for (int i = 0; i < candidates.Count; i++)
        {
            using var fresh = EngineTestData.Model(seed: 6);
            var own = EngineTestData.Options(steps: 3);
            own.Monitoring.EverySteps = 3;
            var run = FinetuneEngine.Create(own, EngineTestData.Method(MethodKind.MocoV2), candidates[i].Replay, candidates[i].Mixing)
                .Run(new FinetuneRequest { Backbone = fresh, Target = target, Source = source });
            Assert.That(result.Trials[i].Score, Is.EqualTo(run.Monitoring[^1].Score), candidates[i].Name);
            Assert.That(result.Trials[i].Last!.Step, Is.EqualTo(3));
        }
    }

    [Test]
    public void Run_LeavesTheCallersOptionsAndHeadAsTheyWere()
    {
        using var target = EngineTestData.Images(48, seed: 37);
        using var model = EngineTestData.Model(seed: 10);
        using var head = new ProjectionHead(32, 32, 16, batchNorm: false);
        var headBefore = EngineTestData.Snapshot(head);
        var options = EngineTestData.Options();
        options.Augmentation.NormalizationMean = [0.5f];
        options.Augmentation.NormalizationStd = [0.25f];

        _ = FinetuneSearch.Run(options, EngineTestData.Method(MethodKind.MocoV2), FinetuneCandidate.ReplayMixingGrid([0], [null, 1.0]),
            new FinetuneRequest { Backbone = model, Head = head, Target = target }, new FinetuneSearchOptions { BudgetSteps = 4, MinTrialSteps = 1 });

        Assert.That((options.Steps, options.Monitoring.EverySteps, options.Monitoring.Criterion, options.CheckpointDirectory), Is.EqualTo(((int?)12, (int?)null, MonitorCriterion.Uniformity, (string?)null)));
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(head), headBefore), Is.True, "the head the caller passed is the pretrained one again");
        var copy = options.Copy();
        Assert.That(copy.Augmentation, Is.Not.SameAs(options.Augmentation));
        Assert.That(copy.Monitoring, Is.Not.SameAs(options.Monitoring));
        Assert.That(copy.Augmentation.NormalizationMean, Is.EqualTo(options.Augmentation.NormalizationMean).And.Not.SameAs(options.Augmentation.NormalizationMean));
    }

    [Test]
    public void Run_EveryTrialDiverging_SaysSoForEach_AndRestoresTheWeights()
    {
        using var target = EngineTestData.Images(48, seed: 38);
        using var model = EngineTestData.Model(seed: 11);
        var pretrained = EngineTestData.Snapshot(model);
        var options = EngineTestData.Options();
        options.LearningRate = 1e12; // the loss becomes NaN within a few steps
        var trials = new List<FinetuneTrial>();

        var e = Assert.Throws<InvalidOperationException>(() => FinetuneSearch.Run(options, EngineTestData.Method(MethodKind.MocoV2), FinetuneCandidate.ReplayMixingGrid([0], [null, 1.0]),
            new FinetuneRequest { Backbone = model, Target = target }, new FinetuneSearchOptions { BudgetSteps = 16, MinTrialSteps = 1 }, progress: new SynchronousProgress<FinetuneTrial>(trials.Add)));

        Assert.That(trials, Has.Count.EqualTo(2), "a diverging trial does not stop the others");
        Assert.That(trials.Select(t => (double.IsNaN(t.Score), t.Last is null, t.Failure is not null)), Is.All.EqualTo((true, true, true)));
        Assert.That(e!.Message, Does.Contain("No trial could be scored").And.Contain("replay 0: ").And.Contain("replay 0 + mixup α 1: "));
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(model), pretrained), Is.True);
    }

    [Test]
    public void Run_ACandidateThatCannotSelect_IsNamedBeforeAnyTrialTrains()
    {
        using var target = EngineTestData.Images(48, seed: 39);
        using var source = EngineTestData.Images(20, seed: 40);
        using var model = EngineTestData.Model(seed: 12);
        var pretrained = EngineTestData.Snapshot(model);
        var candidates = FinetuneCandidate.ReplayMixingGrid([0, 0.25, 1], [null]); // 48 × 1 = 48 images from a source of 20

        var e = Assert.Throws<ArgumentException>(() => FinetuneSearch.Run(EngineTestData.Options(), EngineTestData.Method(MethodKind.MocoV2), candidates,
            new FinetuneRequest { Backbone = model, Target = target, Source = source }, new FinetuneSearchOptions { BudgetSteps = 30, MinTrialSteps = 1 }));

        Assert.That(e!.Message, Does.Contain("Candidate 'replay 1': The replay subset would hold 48 images (ratio 1 × 48 target images); the source set has 20"));
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(model), pretrained), Is.True, "no trial trained");
    }

    [Test]
    public void Run_FeatureReadingRules_EmbedTheSourceOnceForAllTrials_AndSelectAsAnOwnRunWould()
    {
        using var target = EngineTestData.Images(48, seed: 41);
        using var source = EngineTestData.Images(64, seed: 42);
        using var model = EngineTestData.Model(seed: 13);
        var candidates = FinetuneCandidate.ReplayMixingGrid([0.25, 0.5], [null, 1.0], new SparseReplayOptions { Selection = ReplaySelection.TargetNearest });

        var result = FinetuneSearch.Run(EngineTestData.Options(), EngineTestData.Method(MethodKind.MocoV2), candidates,
            new FinetuneRequest { Backbone = model, Target = target, Source = source }, new FinetuneSearchOptions { BudgetSteps = 8, MinTrialSteps = 1 });

        Assert.That(result.SelectionFeaturesComputed, Is.EqualTo(2), "source and target embedded once, for four replaying trials");
        // The shared features give the subset a trial would choose alone: its score equals an own run's.
        using var fresh = EngineTestData.Model(seed: 13);
        var own = EngineTestData.Options(steps: 2);
        own.Monitoring.EverySteps = 2;
        var run = FinetuneEngine.Create(own, EngineTestData.Method(MethodKind.MocoV2), candidates[3].Replay, candidates[3].Mixing)
            .Run(new FinetuneRequest { Backbone = fresh, Target = target, Source = source });
        Assert.That(result.Trials[3].Score, Is.EqualTo(run.Monitoring[^1].Score));
    }

    [Test]
    public void Run_WithAFewLabels_ScoresByTheirLeaveOneOutKnn()
    {
        using var target = EngineTestData.Images(48, seed: 33);
        using var model = EngineTestData.Model(seed: 7);
        using var pixels = EngineTestData.Images(20, seed: 34);
        using var labelled = new InMemoryLabeledImageDataset(pixels.GetBatch(Enumerable.Range(0, 20).ToArray()), [.. Enumerable.Range(0, 20).Select(i => i % 2)], 2);

        var result = FinetuneSearch.Run(EngineTestData.Options(), EngineTestData.Method(MethodKind.MocoV2), FinetuneCandidate.ReplayMixingGrid([0], [null, 1.0]),
            new FinetuneRequest { Backbone = model, Target = target, Validation = labelled }, new FinetuneSearchOptions { BudgetSteps = 4, MinTrialSteps = 1 });

        Assert.That(result.Criterion, Is.EqualTo(MonitorCriterion.ValidationKnn));
        Assert.That(result.Trials.Select(t => t.Score), Is.EqualTo(result.Trials.Select(t => t.Last!.ValidationKnn!.Value)));
    }

    [Test]
    public void Run_CancelledAfterTheFirstTrial_StopsAndRestoresTheWeights()
    {
        using var target = EngineTestData.Images(48, seed: 35);
        using var model = EngineTestData.Model(seed: 8);
        var pretrained = EngineTestData.Snapshot(model);
        using var stop = new CancellationTokenSource();

        Assert.Throws<OperationCanceledException>(() => FinetuneSearch.Run(EngineTestData.Options(), EngineTestData.Method(MethodKind.MocoV2), FinetuneCandidate.ReplayMixingGrid([0], [null, 1.0]),
            new FinetuneRequest { Backbone = model, Target = target }, new FinetuneSearchOptions { BudgetSteps = 6, MinTrialSteps = 1 },
            progress: new SynchronousProgress<FinetuneTrial>(_ => stop.Cancel()), cancellationToken: stop.Token));

        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(model), pretrained), Is.True);
    }

    [Test]
    public void Run_BadRequests_AreRefusedBeforeAnyTraining()
    {
        using var target = EngineTestData.Images(48, seed: 36);
        using var model = EngineTestData.Model(seed: 9);
        var pretrained = EngineTestData.Snapshot(model);
        var method = EngineTestData.Method(MethodKind.MocoV2);
        var request = new FinetuneRequest { Backbone = model, Target = target };
        FinetuneSearchResult Search(IReadOnlyList<FinetuneCandidate> candidates, FinetuneSearchOptions search, FinetuneRequest? r = null) =>
            FinetuneSearch.Run(EngineTestData.Options(), method, candidates, r ?? request, search);

        var small = Assert.Throws<ArgumentException>(() => Search(Grid(), new FinetuneSearchOptions { BudgetSteps = 20, Criterion = MonitorCriterion.Uniformity }, new FinetuneRequest { Backbone = model, Target = target, Source = target }));
        Assert.That(small!.Message, Does.Contain("A budget of 20 steps over 4 candidates gives 5 steps a trial; expected at least 10").And.Contain("raise the budget to 40"));
        var noSource = Assert.Throws<ArgumentException>(() => Search(Grid(), new FinetuneSearchOptions { BudgetSteps = 400 }));
        Assert.That(noSource!.Message, Does.Contain("Candidate 'replay 0.5' replays source images, but the request has no source set"));
        var twice = Assert.Throws<ArgumentException>(() => Search([.. FinetuneCandidate.ReplayMixingGrid([0], [null]), .. FinetuneCandidate.ReplayMixingGrid([0], [null])], new FinetuneSearchOptions { BudgetSteps = 400 }));
        Assert.That(twice!.Message, Does.Contain("'replay 0' appears 2 times"));
        var labels = Assert.Throws<ArgumentException>(() => Search(FinetuneCandidate.ReplayMixingGrid([0], [null]), new FinetuneSearchOptions { BudgetSteps = 400, Criterion = MonitorCriterion.ValidationKnn }));
        Assert.That(labels!.Message, Does.Contain("Validation"));
        var invalid = Assert.Throws<OptionsValidationException>(() => Search(Grid(), new FinetuneSearchOptions { BudgetSteps = 0, Criterion = MonitorCriterion.Custom, MinTrialSteps = 0 }));
        Assert.That(invalid!.Message, Does.Contain("FinetuneSearchOptions.BudgetSteps is 0").And.Contain("FinetuneSearchOptions.Criterion is Custom").And.Contain("FinetuneSearchOptions.MinTrialSteps is 0"));
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(model), pretrained), Is.True, "nothing trained");
    }
}
