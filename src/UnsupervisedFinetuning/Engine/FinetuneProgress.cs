using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Engine;

/// <summary>Progress of a run, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Epoch">Current epoch (1-based).</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="ImagesPerSecond">Training images per second since the run (or resume) started.</param>
/// <param name="Elapsed">Wall time since the run (or resume) started.</param>
/// <param name="Eta">Estimated time to finish.</param>
public sealed record FinetuneProgress(long Step, long TotalSteps, int Epoch, double Loss, double LearningRate, double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Eta)
{
    /// <summary>
    /// The monitor point measured after this step; null when none was due (<see cref="Monitoring.MonitoringOptions.EverySteps"/>).
    /// Step 0's point (the pretrained backbone, measured before the first step) is not reported here, as every report
    /// follows a step; it is logged and is the first of <see cref="FinetuneResult.Monitoring"/>.
    /// </summary>
    public MonitorPoint? Monitor { get; init; }
}
