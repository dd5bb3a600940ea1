using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>The labelled splits evaluation uses; labels are used here and nowhere else.</summary>
public sealed class TransferEvaluationSets
{
    /// <summary>Labelled target images: the kNN bank and the probe's training set.</summary>
    public required ILabeledImageDataset TargetTrain { get; init; }

    /// <summary>Labelled target images the probe chooses its L2 strength on; no probe without it.</summary>
    public ILabeledImageDataset? TargetValidation { get; init; }

    /// <summary>Labelled target images every accuracy is reported on.</summary>
    public required ILabeledImageDataset TargetTest { get; init; }

    /// <summary>Labelled held-out source images forming the retention kNN bank.</summary>
    public ILabeledImageDataset? SourceBank { get; init; }

    /// <summary>Labelled held-out source images the retention kNN is scored on.</summary>
    public ILabeledImageDataset? SourceTest { get; init; }

    /// <summary>Target images for the label-free monitors (e.g. the unlabelled finetuning set); none skips them.</summary>
    public IImageDataset? Monitor { get; init; }
}
