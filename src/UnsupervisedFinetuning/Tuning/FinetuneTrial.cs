using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Tuning;

/// <summary>One candidate's short run in a <see cref="FinetuneSearch"/>.</summary>
/// <param name="Candidate">The setting tried.</param>
/// <param name="Steps">Steps it trained.</param>
/// <param name="Score">The criterion at its last monitor point (higher is better); NaN when it could not be measured or the trial failed.</param>
/// <param name="Last">Its last monitor point: every label-free signal, drift and (with labels) leave-one-out kNN; null when the trial failed.</param>
/// <param name="Seconds">Wall time of the trial.</param>
/// <param name="Failure">Why the trial has no score (its loss became NaN or infinite), or null.</param>
public sealed record FinetuneTrial(FinetuneCandidate Candidate, long Steps, double Score, MonitorPoint? Last, double Seconds, string? Failure = null);

/// <summary>What a <see cref="FinetuneSearch"/> found.</summary>
/// <param name="Criterion">The criterion trials were scored by.</param>
/// <param name="Trials">Every trial, in candidate order.</param>
/// <param name="Best">The trial with the highest finite score (the first of equals).</param>
public sealed record FinetuneSearchResult(MonitorCriterion Criterion, IReadOnlyList<FinetuneTrial> Trials, FinetuneTrial Best)
{
    /// <summary>Datasets embedded for replay selection over all trials (they share features; tests read it).</summary>
    internal int SelectionFeaturesComputed { get; init; }
}
