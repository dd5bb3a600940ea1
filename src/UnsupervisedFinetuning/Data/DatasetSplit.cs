namespace UnsupervisedFinetuning.Data;

/// <summary>A labelled dataset divided into disjoint train, validation and test parts.</summary>
/// <param name="Train">Images to fit on (the kNN bank, the probe's training set).</param>
/// <param name="Validation">Images to choose settings on; <see langword="null"/> when it is empty (its fraction was 0,
/// or per-class rounding gave every class 0 images).</param>
/// <param name="Test">Images to report on; <see langword="null"/> when it is empty (as for validation).</param>
/// <remarks>
/// Parts are drawn per class with round-half-away-from-zero counts, so a class with very few images may
/// end up with none in train (e.g. 1 image and a validation fraction of 0.5); check class counts of tiny sets.
/// </remarks>
public sealed record DatasetSplit(LabeledSubsetDataset Train, LabeledSubsetDataset? Validation, LabeledSubsetDataset? Test);
