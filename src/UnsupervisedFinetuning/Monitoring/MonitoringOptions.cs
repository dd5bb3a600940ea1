using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>
/// Label-free monitoring during a run, and checkpoint selection and early stopping on it
/// (<see cref="Engine.FinetuneOptions.Monitoring"/>). Every <see cref="EverySteps"/> steps — and before the first
/// step and after the last — the engine puts the backbone in eval mode and measures on fixed probe images: RankMe,
/// uniformity and two-view alignment of the target probe; drift (linear CKA, neighbourhood preservation) of the
/// source probe from the start of the run, when source images are given; leave-one-out kNN when a few labelled
/// target images are given. Monitoring reads no training random stream and changes no weight or statistic, so a
/// run with it trains exactly as one without it (until <see cref="Patience"/>, if set, ends it early).
/// </summary>
public sealed class MonitoringOptions
{
    /// <summary>Fraction of training compute the automatic interval allows monitoring to take: 5%.</summary>
    public const double AutomaticBudget = 0.05;

    /// <summary>Whether to monitor. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Measure every N steps; null chooses N so that monitoring costs at most <see cref="AutomaticBudget"/> of the
    /// run's compute, counted in image passes (a backward pass as two forward passes; see docs/how-to/monitor.md). Default null.
    /// </summary>
    public int? EverySteps { get; set; }

    /// <summary>Target images monitored (a fixed seeded sample of the target set; all of it when smaller), at least 2. Also the size of the source probe drawn from the source set. Default 256.</summary>
    public int ProbeImages { get; set; } = 256;

    /// <summary>Whether to measure the alignment of two augmented views (two more forward passes of the target probe). Default true.</summary>
    public bool Alignment { get; set; } = true;

    /// <summary>The k of neighbourhood preservation on the source probe, at least 1. Default 10.</summary>
    public int Neighbours { get; set; } = 10;

    /// <summary>
    /// What "best" means for <see cref="RestoreBest"/>, <see cref="Patience"/> and <see cref="Engine.FinetuneResult.Selected"/>.
    /// Default <see cref="MonitorCriterion.Uniformity"/>: of the signals measured, it tracked target kNN most closely
    /// within runs on both shipped pairings (Spearman ρ −0.75 and −0.64; docs/concepts.md).
    /// </summary>
    public MonitorCriterion Criterion { get; set; } = MonitorCriterion.Uniformity;

    /// <summary>The score of <see cref="MonitorCriterion.Custom"/> (higher is better); required with it, ignored otherwise. Not part of JSON settings.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Func<MonitorPoint, double>? CustomScore { get; set; }

    /// <summary>At the end of the run, load the backbone weights of the best point into the backbone (the head and predictor stay as last trained). Default false: the backbone is the last one.</summary>
    public bool RestoreBest { get; set; }

    /// <summary>Stop when this many points in a row have not improved on the best score by more than <see cref="MinImprovement"/>; null never stops early. Default null.</summary>
    public int? Patience { get; set; }

    /// <summary>
    /// The dtype the monitors' feature extraction computes in (see <see cref="ComputePrecision"/>); Float16 is
    /// allowed here (no gradients, no loss scaling). Default <see cref="ComputePrecision.Float32"/>.
    /// </summary>
    public ComputePrecision Precision { get; set; } = ComputePrecision.Float32;

    /// <summary>How much a score must exceed the best so far to count as an improvement, ≥ 0. Default 0.</summary>
    public double MinImprovement { get; set; }
}
