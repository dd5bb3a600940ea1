namespace UnsupervisedFinetuning.Evaluation;

/// <summary>Names of the metrics <see cref="TransferEvaluator"/> reports (also the report's column names).</summary>
public static class TransferMetrics
{
    /// <summary>Weighted kNN top-1 accuracy on the target test split, bank = labelled target train split.</summary>
    public const string TargetKnn = "target kNN";

    /// <summary>Weighted kNN top-1 accuracy on the target validation split: the number to choose settings on.</summary>
    public const string TargetKnnValidation = "target kNN (validation)";

    /// <summary>Linear-probe top-1 accuracy on the target test split.</summary>
    public const string TargetLinearProbe = "target linear probe";

    /// <summary>Weighted kNN top-1 accuracy on held-out source data: how much of the pretrained representation survived.</summary>
    public const string SourceKnn = "source kNN (retention)";

    /// <summary>RankMe of the target embeddings (label-free).</summary>
    public const string RankMe = "RankMe";

    /// <summary>Alignment of two augmented views of target images (label-free; lower is better).</summary>
    public const string Alignment = "alignment";

    /// <summary>Uniformity of target embeddings (label-free; lower is more uniform).</summary>
    public const string Uniformity = "uniformity";

    /// <summary>Linear CKA between the pretrained and the finetuned backbone's features of source probe images (label-free drift; 1: nothing moved).</summary>
    public const string SourceCka = "source CKA (label-free)";

    /// <summary>Share of source probe images' k nearest neighbours kept from the pretrained to the finetuned backbone (label-free drift; 1: all kept).</summary>
    public const string SourceNeighbourhoods = "source neighbours kept (label-free)";

    /// <summary><see cref="TargetKnn"/> of the backbone at the step the monitoring criterion selected.</summary>
    public const string TargetKnnSelected = "target kNN (selected step)";

    /// <summary><see cref="SourceKnn"/> of the backbone at the step the monitoring criterion selected.</summary>
    public const string SourceKnnSelected = "source kNN (retention, selected step)";

    /// <summary>
    /// Whether <paramref name="metric"/> is an accuracy (a fraction of images classified right), which reports show in
    /// percent: its name contains "kNN", "probe" or "accuracy", in any case (<see cref="TargetKnn"/>,
    /// <see cref="TargetLinearProbe"/>, <see cref="SourceKnn"/>, a leave-one-out kNN, …).
    /// </summary>
    public static bool IsAccuracy(string metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        return metric.Contains("kNN", StringComparison.OrdinalIgnoreCase) || metric.Contains("probe", StringComparison.OrdinalIgnoreCase) || metric.Contains("accuracy", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Which way <paramref name="metric"/> improves: true when higher is better (accuracies, <see cref="RankMe"/>,
    /// <see cref="SourceCka"/> and <see cref="SourceNeighbourhoods"/>: less drift), false when lower is better
    /// (<see cref="Uniformity"/>, <see cref="Alignment"/>), null for a metric this library does not define.
    /// </summary>
    public static bool? HigherIsBetter(string metric) => metric switch
    {
        RankMe or SourceCka or SourceNeighbourhoods => true,
        Uniformity or Alignment => false,
        _ when IsAccuracy(metric) => true,
        _ => null,
    };
}
