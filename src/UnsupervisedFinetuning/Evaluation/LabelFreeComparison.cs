namespace UnsupervisedFinetuning.Evaluation;

/// <summary>The label-free monitors of one backbone on one set of images.</summary>
/// <param name="RankMe">Effective rank of the features (<see cref="RepresentationMonitors.RankMe"/>); higher: less collapsed.</param>
/// <param name="Uniformity">Uniformity of the normalised features (<see cref="RepresentationMonitors.Uniformity"/>); lower: more spread out.</param>
/// <param name="Alignment">Alignment of two augmented views (<see cref="RepresentationMonitors.Alignment"/>); lower: views agree. Null without monitor views.</param>
public sealed record LabelFreeMonitors(double RankMe, double Uniformity, double? Alignment);

/// <summary>How far a representation moved on a probe set, between two backbones (<see cref="RepresentationDrift"/>).</summary>
/// <param name="LinearCka">Linear CKA of the two backbones' features; 1: nothing moved.</param>
/// <param name="NeighbourhoodPreservation">Share of each image's k nearest neighbours kept; 1: every neighbourhood kept.</param>
/// <param name="Images">Images in the probe set.</param>
/// <param name="Neighbours">The k of the neighbourhoods.</param>
public sealed record DriftMeasurement(double LinearCka, double NeighbourhoodPreservation, int Images, int Neighbours);

/// <summary>
/// Two backbones — typically the pretrained one and the finetuned one — compared without a single label: the
/// label-free monitors of each on the target images, and the drift between them on a probe set of source images
/// (a stand-in for forgetting when the source has no labels).
/// </summary>
public sealed record LabelFreeComparison
{
    /// <summary>The first backbone's monitors on the target images.</summary>
    public required LabelFreeMonitors Start { get; init; }

    /// <summary>The second backbone's monitors on the target images.</summary>
    public required LabelFreeMonitors Finetuned { get; init; }

    /// <summary>Drift on the source probe set; null when none was given.</summary>
    public DriftMeasurement? SourceDrift { get; init; }
}
