using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>The monitor points of a run so far and the selection counters, as a checkpoint stores them.</summary>
internal sealed class MonitorHistory
{
    public List<MonitorPoint> Points { get; set; } = [];

    /// <summary>Step of the best point by the criterion; null before the first point.</summary>
    public long? BestStep { get; set; }

    public double BestScore { get; set; } = double.NaN;

    /// <summary>Points in a row since the best one that did not improve on it.</summary>
    public int SinceBest { get; set; }

    /// <summary>Whether patience ran out (the run ended early).</summary>
    public bool StoppedEarly { get; set; }

    public MonitorPoint? Best => BestStep is { } step ? Points.LastOrDefault(p => p.Step == step) : null;
}
