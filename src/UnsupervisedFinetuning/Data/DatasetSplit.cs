namespace UnsupervisedFinetuning.Data;

/// <summary>A labelled dataset divided into disjoint train, validation and test parts.</summary>
/// <param name="Train">Images to fit on (the kNN bank, the probe's training set).</param>
/// <param name="Validation">Images to choose settings on; <see langword="null"/> when its fraction was 0.</param>
/// <param name="Test">Images to report on; <see langword="null"/> when its fraction was 0.</param>
public sealed record DatasetSplit(LabeledSubsetDataset Train, LabeledSubsetDataset? Validation, LabeledSubsetDataset? Test);
