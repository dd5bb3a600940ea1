namespace UnsupervisedFinetuning.Evaluation;

/// <summary>
/// The monitors of the backbone at one step of a run (<see cref="Monitoring.MonitoringOptions"/>), measured in eval mode on
/// fixed probe images, so that points of one run — and of runs with the same seed — are comparable.
/// </summary>
public sealed record MonitorPoint
{
    /// <summary>Optimizer steps completed when the point was measured (0: the pretrained backbone, before training).</summary>
    public required long Step { get; init; }

    /// <summary>RankMe, uniformity and alignment of the backbone's features of the target probe images.</summary>
    public required LabelFreeMonitors Target { get; init; }

    /// <summary>Drift of the source probe's features from the start of the run; null without source images.</summary>
    public DriftMeasurement? SourceDrift { get; init; }

    /// <summary>Leave-one-out kNN accuracy on the labelled validation images; null without them.</summary>
    public double? ValidationKnn { get; init; }

    /// <summary>The selection criterion's score of this point (higher is better).</summary>
    public required double Score { get; init; }

    /// <summary>Wall time spent measuring the point, in seconds.</summary>
    public required double Seconds { get; init; }
}
