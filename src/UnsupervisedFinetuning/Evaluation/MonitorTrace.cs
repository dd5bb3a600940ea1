
namespace UnsupervisedFinetuning.Evaluation;

/// <summary>The monitor points of one run (<see cref="Engine.FinetuneResult.Monitoring"/>) in a <see cref="TransferReport"/>.</summary>
/// <param name="Arm">The run's arm.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Points">Its monitor points, in step order.</param>
/// <param name="SelectedStep">The step the run's criterion selected (<see cref="Engine.FinetuneResult.Selected"/>); null when none.</param>
public sealed record MonitorTrace(string Arm, long Seed, IReadOnlyList<MonitorPoint> Points, long? SelectedStep);
