namespace UnsupervisedFinetuning.Engine;

/// <summary>One epoch of a run.</summary>
/// <param name="Epoch">Epoch number (1-based).</param>
/// <param name="Steps">Steps taken in it (a final epoch cut short by FinetuneOptions.Steps has fewer).</param>
/// <param name="MeanLoss">Mean loss over its steps (skipped steps excluded).</param>
/// <param name="LastLearningRate">Learning rate of its last step.</param>
/// <param name="ImagesPerSecond">Training images per second during it.</param>
/// <param name="Seconds">Wall time of its steps.</param>
public sealed record EpochSummary(int Epoch, int Steps, double MeanLoss, double LastLearningRate, double ImagesPerSecond, double Seconds);
