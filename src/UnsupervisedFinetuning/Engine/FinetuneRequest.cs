using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Engine;

/// <summary>What one finetuning run trains, and on what.</summary>
public sealed class FinetuneRequest
{
    /// <summary>The pretrained backbone; trained in place and returned in the result.</summary>
    public required Backbone Backbone { get; init; }

    /// <summary>The unlabelled target set D_t.</summary>
    public required IImageDataset Target { get; init; }

    /// <summary>The source set D_s to replay from; required when replay is on. Same image shape as the target.</summary>
    public IImageDataset? Source { get; init; }

    /// <summary>A pretrained projection head to continue from; a new one is created when null.</summary>
    public ProjectionHead? Head { get; init; }

    /// <summary>A pretrained predictor to continue from (BYOL, SimSiam); a new one is created when null.</summary>
    public ProjectionHead? Predictor { get; init; }

    /// <summary>
    /// Source images to measure drift on while monitoring (a few hundred; labels not needed). When null and
    /// <see cref="Source"/> is given, a fixed sample of <see cref="Monitoring.MonitoringOptions.ProbeImages"/> source images is used.
    /// </summary>
    public IImageDataset? SourceProbe { get; init; }

    /// <summary>A few labelled target images: monitored by leave-one-out kNN, and the data of <see cref="Monitoring.MonitorCriterion.ValidationKnn"/>. Never trained on.</summary>
    public ILabeledImageDataset? Validation { get; init; }

    /// <summary>A checkpoint written by a previous run with the same options to continue from.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>
    /// With <see cref="ResumeFrom"/>: accept options that plan more steps than the checkpoint's run
    /// (<see cref="FinetuneOptions.Steps"/> or <see cref="FinetuneOptions.Epochs"/> raised) and continue to the new
    /// total — to train a finished run for longer, or a running one further. Every other option must still match.
    /// </summary>
    /// <remarks>
    /// The learning-rate schedule is a function of the total: from the checkpoint's step on, the run follows the
    /// schedule of the new total (warm-up and cosine decay recomputed for it). A finished run's rate had decayed to
    /// <see cref="FinetuneOptions.MinLearningRate"/>; extended from T to T′ steps with W′ warm-up steps, step T + 1 takes
    /// the cosine at (T − W′)/(T′ − W′ − 1) of the way — for 600 → 700 steps with the default 5 % warm-up, 5.4 % of the
    /// peak (4.9 % without warm-up) — and decays to the minimum again at T′: a small warm restart. The result is therefore not the run a fresh T′-step run would give (its first T steps followed
    /// the T-step schedule); resuming the extended run again continues it bit for bit. An automatic monitor interval
    /// is replanned for the new total, and a run that had stopped early (patience) trains again, with patience
    /// counted on from its best point. Fewer steps than planned are never accepted.
    /// </remarks>
    public bool ExtendSchedule { get; init; }

    /// <summary>The images the online monitor measures on.</summary>
    internal Monitoring.MonitorData ForMonitor() => new(Target, Source, SourceProbe, Validation);

    /// <summary>Pretrained features shared with other runs from the same weights (a search's trials); null computes them per run.</summary>
    internal Replay.SelectionFeatureCache? SharedSelectionFeatures { get; init; }
}
