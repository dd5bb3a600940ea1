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

    public long QueryImagePasses { get; set; }

    public long KeyImagePasses { get; set; }

    public long SkippedSteps { get; set; }

    // Running totals of the epoch in progress.
    public int EpochSteps { get; set; }

    public int EpochCounted { get; set; }

    public double EpochLossSum { get; set; }

    public long EpochImages { get; set; }

    public double EpochSeconds { get; set; }

    public double LastLearningRate { get; set; }

    /// <summary>Adds the epoch in progress to the history and returns it; null when it has no steps yet.</summary>
    public EpochSummary? CloseEpoch()
    {
        if (EpochSteps == 0)
        {
            return null;
        }

        double mean = EpochCounted > 0 ? EpochLossSum / EpochCounted : double.NaN;
        double rate = EpochSeconds > 0 ? EpochImages / EpochSeconds : 0;
        var summary = new EpochSummary(Epoch, EpochSteps, mean, LastLearningRate, rate, EpochSeconds);
        History.Add(summary);
        EpochSteps = 0;
        EpochCounted = 0;
        EpochLossSum = 0;
        EpochImages = 0;
        EpochSeconds = 0;
        return summary;
    }
}
