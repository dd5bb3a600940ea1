using System.Diagnostics;
using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

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
/// are the pretrained ones again when the search returns or throws.
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

        var criterion = search.Criterion ?? (request.Validation is not null ? MonitorCriterion.ValidationKnn : new MonitoringOptions().Criterion);
        var trialOptions = options.Copy();
        trialOptions.Steps = checked((int)trialSteps);
        trialOptions.CheckpointDirectory = null;
        trialOptions.CheckpointEverySteps = null;
        trialOptions.Monitoring.Enabled = true;
        trialOptions.Monitoring.EverySteps = checked((int)trialSteps); // the two ends: step 0 and the last step
        trialOptions.Monitoring.Criterion = criterion;
        trialOptions.Monitoring.CustomScore = null;
        trialOptions.Monitoring.RestoreBest = false;
        trialOptions.Monitoring.Patience = null;
        OnlineMonitor.Check(request, trialOptions.Monitoring);

        // Every engine is built (and its options validated) before the first trial trains.
        var engines = candidates.Select(c => FinetuneEngine.Create(trialOptions, method, c.Replay, c.Mixing, augmentation, logger)).ToList();
        var pretrained = Snapshot(request);
        try
        {
            var trials = new List<FinetuneTrial>();
            for (int i = 0; i < candidates.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Restore(request, pretrained);
                var clock = Stopwatch.StartNew();
                var result = engines[i].Run(request, null, cancellationToken);
                var last = result.Monitoring[^1];
                var trial = new FinetuneTrial(candidates[i], result.Steps, last.Score, last, clock.Elapsed.TotalSeconds);
                trials.Add(trial);
                progress?.Report(trial);
            }

            var scored = trials.Where(t => double.IsFinite(t.Score)).ToList();
            if (scored.Count == 0)
            {
                throw new InvalidOperationException($"No trial could be scored by {criterion}: every score was NaN (e.g. collapsed features).");
            }

            var best = scored.Aggregate((a, b) => b.Score > a.Score ? b : a);
            return new FinetuneSearchResult(criterion, trials, best);
        }
        finally
        {
            Restore(request, pretrained);
            foreach (var tensors in pretrained.Values)
            {
                foreach (var tensor in tensors.Values)
                {
                    tensor.Dispose();
                }
            }
        }
    }

    /// <summary>CPU copies of every parameter and buffer of the networks a trial trains.</summary>
    private static Dictionary<nn.Module, Dictionary<string, Tensor>> Snapshot(FinetuneRequest request)
    {
        var networks = new nn.Module?[] { request.Backbone, request.Head, request.Predictor };
        return networks.OfType<nn.Module>().ToDictionary(m => m, m => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().clone()));
    }

    private static void Restore(FinetuneRequest request, Dictionary<nn.Module, Dictionary<string, Tensor>> snapshot)
    {
        using var noGrad = no_grad();
        foreach (var (module, tensors) in snapshot)
        {
            foreach (var (name, value) in module.state_dict())
            {
                value.copy_(tensors[name]);
            }
        }
    }
}
