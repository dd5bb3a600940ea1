namespace UnsupervisedFinetuning.Evaluation;

/// <summary>
/// What <see cref="TransferEvaluator.Evaluate"/> measured on one backbone. Accuracies are fractions in
/// [0, 1]; a metric the evaluation sets did not allow is null.
/// </summary>
public sealed record TransferEvaluation
{
    /// <summary>Weighted kNN top-1 accuracy on the target test split, bank = labelled target train split.</summary>
    public required double TargetKnn { get; init; }

    /// <summary>Weighted kNN top-1 accuracy on the target validation split (the number to choose settings on); needs a validation split.</summary>
    public double? TargetKnnValidation { get; init; }

    /// <summary>Linear-probe top-1 accuracy on the target test split; needs a validation split.</summary>
    public double? TargetLinearProbe { get; init; }

    /// <summary>Weighted kNN top-1 accuracy on held-out source images (retention, the mirror of forgetting); needs the source sets.</summary>
    public double? SourceKnn { get; init; }

    /// <summary>RankMe of the monitor images' features (label-free, higher is richer); needs monitor images.</summary>
    public double? RankMe { get; init; }

    /// <summary>Alignment of two augmented views of the monitor images (label-free, lower is better); needs monitor images and views.</summary>
    public double? Alignment { get; init; }

    /// <summary>Uniformity of the monitor images' features (label-free, lower is more uniform); needs monitor images.</summary>
    public double? Uniformity { get; init; }

    /// <summary>The measured metrics as report rows of <paramref name="arm"/> and <paramref name="seed"/>, named as in <see cref="TransferMetrics"/>.</summary>
    public IReadOnlyList<TransferMeasurement> ToMeasurements(string arm, long seed)
    {
        (string Metric, double? Value)[] all =
        [
            (TransferMetrics.TargetKnn, TargetKnn),
            (TransferMetrics.TargetKnnValidation, TargetKnnValidation),
            (TransferMetrics.TargetLinearProbe, TargetLinearProbe),
            (TransferMetrics.SourceKnn, SourceKnn),
            (TransferMetrics.RankMe, RankMe),
            (TransferMetrics.Uniformity, Uniformity),
            (TransferMetrics.Alignment, Alignment),
        ];
        return all.Where(m => m.Value is not null).Select(m => new TransferMeasurement(arm, seed, m.Metric, m.Value!.Value)).ToList();
    }
}
