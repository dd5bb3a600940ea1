using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// What <c>uft evaluate</c> measured on one backbone: every metric nullable, since without target labels only the
/// label-free monitors (and retention, with source labels) exist. Named as <see cref="TransferEvaluation"/>'s
/// properties, so the JSON of a labelled evaluation keeps its field names.
/// </summary>
internal sealed record EvaluationResult
{
    public double? TargetKnn { get; init; }

    public double? TargetKnnValidation { get; init; }

    public double? TargetLinearProbe { get; init; }

    public double? SourceKnn { get; init; }

    public double? RankMe { get; init; }

    public double? Alignment { get; init; }

    public double? Uniformity { get; init; }

    public static EvaluationResult From(TransferEvaluation e) => new()
    {
        TargetKnn = e.TargetKnn,
        TargetKnnValidation = e.TargetKnnValidation,
        TargetLinearProbe = e.TargetLinearProbe,
        SourceKnn = e.SourceKnn,
        RankMe = e.RankMe,
        Alignment = e.Alignment,
        Uniformity = e.Uniformity,
    };

    public static EvaluationResult From(LabelFreeMonitors monitors, double? sourceKnn) => new()
    {
        RankMe = monitors.RankMe,
        Alignment = monitors.Alignment,
        Uniformity = monitors.Uniformity,
        SourceKnn = sourceKnn,
    };
}
