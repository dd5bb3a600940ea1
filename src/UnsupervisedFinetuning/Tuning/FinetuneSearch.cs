using System.Diagnostics;
using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Tuning;

/// <summary>
/// Chooses a replay and mixing setting within a compute budget: every candidate trains for an equal share of the
/// budget from the same pretrained weights, is scored by a monitoring criterion at its last step — label-free
/// (uniformity by default) or, when the request has a few labelled target images, their leave-one-out kNN — and
/// the best is returned. Train the chosen candidate at full length afterwards.
/// </summary>
/// <remarks>
/// A short trial is a proxy for a full run: docs/how-to/replay-selection.md reports how close its choice lands to
/// the setting a labelled validation split picks from full-length runs. The caller's backbone, head and predictor
/// are the pretrained ones again when the search returns or throws. The budget counts training steps: a replay rule
/// that reads features (coverage, target-nearest) embeds the source once for all replaying candidates, outside the
/// budget, and mixing in <see cref="MixingCompute.Add"/> mode costs about 1.7× a step. A candidate whose loss
/// diverges gets a NaN score (<see cref="FinetuneTrial.Failure"/> says why) and the others go on.
/// </remarks>
public static class FinetuneSearch
{

    /// <summary>Runs the search.</summary>
    /// <param name="options">The run's options: batch size, learning rate, seed, device, augmentation. Each trial gets a
    /// copy with <see cref="FinetuneOptions.Steps"/> set to its share, no checkpoint, and monitoring at its two ends.</param>
    /// <param name="method">The self-supervised method.</param>
    /// <param name="candidates">The settings to try (names unique).</param>
    /// <param name="request">The pretrained networks and data; <see cref="FinetuneRequest.ResumeFrom"/> must be null.</param>
    /// <param name="search">Budget and criterion.</param>
    /// <param name="augmentation">Two-view augmentation; built from <paramref name="options"/> when null.</param>
    /// <param name="progress">Receives each trial when it ends.</param>
    /// <param name="logger">Receives every trial's engine log.</param>
    /// <param name="cancellationToken">Stops the search at a step boundary (<see cref="OperationCanceledException"/>); the weights are restored.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">No candidates, duplicate names, a budget too small for them, a replaying candidate
    /// without a source set, a resume path, or a criterion whose data the request lacks.</exception>
    /// <exception cref="InvalidOperationException">No trial could be scored (every score was NaN).</exception>
    public static FinetuneSearchResult Run(FinetuneOptions options, ISelfSupervisedMethod method, IReadOnlyList<FinetuneCandidate> candidates, FinetuneRequest request,
        FinetuneSearchOptions search, TwoViewAugmentation? augmentation = null, IProgress<FinetuneTrial>? progress = null, ILogger<FinetuneEngine>? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(request);
        new FinetuneSearchOptionsValidator().ThrowIfInvalid(search);
        if (candidates.Count == 0)
        {
            throw new ArgumentException("A search needs at least one candidate.", nameof(candidates));
        }

        if (candidates.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new ArgumentException($"Candidate names must be unique; '{duplicate.Key}' appears {duplicate.Count()} times.", nameof(candidates));
        }

        long trialSteps = search.BudgetSteps / candidates.Count;
        if (trialSteps > int.MaxValue)
        {
            throw new ArgumentException($"A budget of {search.BudgetSteps} steps over {candidates.Count} candidates gives {trialSteps} steps a trial; expected at most {int.MaxValue}.", nameof(search));
        }

        if (trialSteps < search.MinTrialSteps)
        {
            throw new ArgumentException(
                $"A budget of {search.BudgetSteps} steps over {candidates.Count} candidates gives {trialSteps} steps a trial; expected at least {search.MinTrialSteps} (FinetuneSearchOptions.MinTrialSteps): raise the budget to {(long)search.MinTrialSteps * candidates.Count} or try fewer candidates.",
                nameof(search));
        }

        if (request.ResumeFrom is not null)
        {
            throw new ArgumentException("A search starts every trial from the pretrained weights; FinetuneRequest.ResumeFrom must be null.", nameof(request));
        }

        if (request.Source is null && candidates.FirstOrDefault(c => c.Replay is not NoReplay) is { } replaying)
        {
            throw new ArgumentException($"Candidate '{replaying.Name}' replays source images, but the request has no source set (FinetuneRequest.Source).", nameof(request));
        }

        // What can be checked without training — subset sizes, pools, labels — is, so no trial trains before a later one would fail.
        foreach (var candidate in candidates)
        {
            if (candidate.Replay is SparseSourceReplay sparse)
            {
                try
                {
                    sparse.CheckFits(request.Target, request.Source, nameof(request));
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"Candidate '{candidate.Name}': {e.Message}", nameof(candidates), e);
                }
            }
        }

        var criterion = search.Criterion ?? (request.Validation is not null ? MonitorCriterion.ValidationKnn : new MonitoringOptions().Criterion);
        var trialOptions = options.Copy();
        trialOptions.Steps = (int)trialSteps;
        trialOptions.CheckpointDirectory = null;
        trialOptions.CheckpointEverySteps = null;
        trialOptions.Monitoring.Enabled = true;
        trialOptions.Monitoring.EverySteps = (int)trialSteps; // the two ends: step 0 and the last step
        trialOptions.Monitoring.Criterion = criterion;
        trialOptions.Monitoring.CustomScore = null;
        trialOptions.Monitoring.RestoreBest = false;
        trialOptions.Monitoring.Patience = null;
        OnlineMonitor.Check(request.ForMonitor(), trialOptions.Monitoring);

        // Every engine is built (and its options validated) before the first trial trains.
        var engines = candidates.Select(c => FinetuneEngine.Create(trialOptions, method, c.Replay, c.Mixing, augmentation, logger)).ToList();
        using var pretrained = ModuleSnapshot.Capture(request.Backbone, request.Head, request.Predictor); // values and devices
        // Every trial selects with the same pretrained weights and views, so a source set is embedded once for all of them.
        using var features = new SelectionFeatureCache();
        var trialRequest = new FinetuneRequest
        {
            Backbone = request.Backbone,
            Head = request.Head,
            Predictor = request.Predictor,
            Target = request.Target,
            Source = request.Source,
            SourceProbe = request.SourceProbe,
            Validation = request.Validation,
            SharedSelectionFeatures = features,
        };
        try
        {
            var trials = new List<FinetuneTrial>();
            for (int i = 0; i < candidates.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                pretrained.Restore();
                var clock = Stopwatch.StartNew();
                FinetuneTrial trial;
                try
                {
                    var result = engines[i].Run(trialRequest, null, cancellationToken);
                    result.ReleaseSelected(); // a trial's best-point copy is not needed: only its history is read
                    // Networks the trial built for itself (a head or predictor the caller did not pass) go with it.
                    if (!ReferenceEquals(result.Head, request.Head))
                    {
                        result.Head.Dispose();
                    }

                    if (result.Predictor is { } predictor && !ReferenceEquals(predictor, request.Predictor))
                    {
                        predictor.Dispose();
                    }

                    var last = result.Monitoring[^1];
                    trial = new FinetuneTrial(candidates[i], result.Steps, last.Score, last, clock.Elapsed.TotalSeconds);
                }
                catch (NonFiniteLossException e)
                {
                    // A diverging candidate is an answer ("not this one"), not a reason to lose the other trials.
                    trial = new FinetuneTrial(candidates[i], e.Step, double.NaN, null, clock.Elapsed.TotalSeconds, e.Message);
                }

                trials.Add(trial);
                progress?.Report(trial);
            }

            var scored = trials.Where(t => double.IsFinite(t.Score)).ToList();
            if (scored.Count == 0)
            {
                throw new InvalidOperationException($"No trial could be scored by {criterion}: every score was NaN (collapsed features or diverging losses: {string.Join("; ", trials.Select(t => $"{t.Candidate.Name}: {t.Failure ?? "NaN score"}"))}).");
            }

            var best = scored.Aggregate((a, b) => b.Score > a.Score ? b : a);
            return new FinetuneSearchResult(criterion, trials, best) { SelectionFeaturesComputed = features.Computed };
        }
        finally
        {
            pretrained.Restore();
        }
    }
}
