using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Everything about a run's progress that a resumed run needs to continue exactly: counters, the replay
/// subset, the current epoch's batch plan and position, the generators' states, the history so far.
/// </summary>
internal sealed class TrainingState
{
    public required int[] Subset { get; set; }

    public required SeededRandom ReplayRandom { get; set; }

    public required SeededRandom AugmentRandom { get; set; }

    public required SeededRandom MixRandom { get; set; }

    public long Step { get; set; }

    /// <summary>Epoch in progress, 1-based; 0 before the first plan.</summary>
    public int Epoch { get; set; }

    public IReadOnlyList<ReplayBatch>? Plan { get; set; }

    public int Position { get; set; }

    public List<EpochSummary> History { get; set; } = [];

    public long OnlineImagePasses { get; set; }

    public long TargetImagePasses { get; set; }

    public long SkippedSteps { get; set; }

    public EpochStatistics EpochStatistics { get; } = new();

    public MonitorHistory Monitoring { get; set; } = new();

    /// <summary>Whether the current epoch's plan is used up (or none was made yet).</summary>
    public bool EpochDone => Plan is null || Position >= Plan.Count;

    /// <summary>Adds the epoch in progress to the history and returns it; null when it has no steps yet.</summary>
    public EpochSummary? CloseEpoch()
    {
        var summary = EpochStatistics.Close(Epoch);
        if (summary is not null)
        {
            History.Add(summary);
        }

        return summary;
    }

    /// <summary>Starts the next epoch with <paramref name="plan"/>.</summary>
    public void StartEpoch(IReadOnlyList<ReplayBatch> plan)
    {
        Plan = plan;
        Position = 0;
        Epoch++;
    }
}
