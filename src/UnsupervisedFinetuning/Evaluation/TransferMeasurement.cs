namespace UnsupervisedFinetuning.Evaluation;

/// <summary>One number of a comparison: metric <paramref name="Metric"/> of arm <paramref name="Arm"/> in seed <paramref name="Seed"/>.</summary>
/// <param name="Arm">The finetuning recipe, e.g. "naive UFT".</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Metric">What was measured, e.g. "target kNN".</param>
/// <param name="Value">The value (accuracies as fractions in [0, 1]).</param>
public sealed record TransferMeasurement(string Arm, long Seed, string Metric, double Value);
