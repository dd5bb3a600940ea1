using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>
/// The images an online monitor measures on: built from datasets, not from the engine's request, so monitoring sits
/// below the engine (the engine hands its request's datasets down; nothing here knows the engine).
/// </summary>
/// <param name="Target">The unlabelled target images (RankMe, uniformity, alignment).</param>
/// <param name="Source">The source set, sampled for drift when no probe is given.</param>
/// <param name="SourceProbe">Source images to measure drift on.</param>
/// <param name="Validation">A few labelled target images (leave-one-out kNN).</param>
internal sealed record MonitorData(IImageDataset Target, IImageDataset? Source, IImageDataset? SourceProbe, ILabeledImageDataset? Validation);
