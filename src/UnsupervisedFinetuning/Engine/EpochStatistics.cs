namespace UnsupervisedFinetuning.Engine;

/// <summary>Running totals of the epoch in progress, closed into an <see cref="EpochSummary"/> at its end.</summary>
internal sealed class EpochStatistics
{
    public int Steps { get; set; }

    /// <summary>Steps whose loss was finite (the mean is over these).</summary>
    public int Counted { get; set; }

    public double LossSum { get; set; }

    public long Images { get; private set; }

    public double Seconds { get; private set; }

    public double LastLearningRate { get; private set; }

    public void Add(double loss, int images, double seconds, double learningRate)
    {
        Steps++;
        if (double.IsFinite(loss))
        {
            LossSum += loss;
            Counted++;
        }

        Images += images;
        Seconds += seconds;
        LastLearningRate = learningRate;
    }

    /// <summary>The summary of epoch <paramref name="epoch"/>, and a reset; null when it has no steps yet.</summary>
    public EpochSummary? Close(int epoch)
    {
        if (Steps == 0)
        {
            return null;
        }

        double mean = Counted > 0 ? LossSum / Counted : double.NaN;
        double rate = Seconds > 0 ? Images / Seconds : 0;
        var summary = new EpochSummary(epoch, Steps, mean, LastLearningRate, rate, Seconds);
        Steps = 0;
        Counted = 0;
        LossSum = 0;
        Images = 0;
        Seconds = 0;
        return summary;
    }
}
