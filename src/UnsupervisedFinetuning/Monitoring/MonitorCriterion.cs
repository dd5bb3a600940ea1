using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>
/// What "best" means when the engine keeps the best backbone of a run or stops early (<see cref="MonitoringOptions.Criterion"/>).
/// Every criterion is turned into a score where higher is better (<see cref="MonitorPoint.Score"/>).
/// </summary>
public enum MonitorCriterion
{
    /// <summary>RankMe of the target probe's features (higher is better). Label-free.</summary>
    RankMe,

    /// <summary>Uniformity of the target probe's features (score = −uniformity: lower uniformity is better). Label-free.</summary>
    Uniformity,

    /// <summary>Alignment of two augmented views of the target probe (score = −alignment). Label-free; needs <see cref="MonitoringOptions.Alignment"/>.</summary>
    Alignment,

    /// <summary>Linear CKA between the start and the current features of the source probe (higher: less drift). Label-free; needs source images.</summary>
    SourceCka,

    /// <summary>Neighbourhood preservation on the source probe (higher: less drift). Label-free; needs source images.</summary>
    SourceNeighbourhoods,

    /// <summary>Leave-one-out kNN accuracy on a few labelled target images (<see cref="Engine.FinetuneRequest.Validation"/>).</summary>
    ValidationKnn,

    /// <summary>The caller's own score (<see cref="MonitoringOptions.CustomScore"/>).</summary>
    Custom,
}
