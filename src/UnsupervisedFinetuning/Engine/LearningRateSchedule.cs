namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Linear warm-up from 0 to the peak over the first W steps, then cosine decay to the minimum at the last
/// step: <c>lr(t) = peak·(t + 1)/W</c> for t &lt; W, else
/// <c>min + ½(peak − min)(1 + cos(π·(t − W)/(T − W)))</c>.
/// </summary>
internal sealed class LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public LearningRateSchedule(double peak, double minimum, long totalSteps, long warmupSteps)
    {
        if (!(peak > 0) || !(minimum >= 0) || minimum > peak)
        {
            throw new ArgumentOutOfRangeException(nameof(peak), $"Learning rates must satisfy 0 ≤ minimum ≤ peak, peak > 0; got peak {peak}, minimum {minimum}.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        if (warmupSteps < 0 || warmupSteps >= totalSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"Warm-up must take 0 to {totalSteps - 1} steps.");
        }

        Peak = peak;
        Minimum = minimum;
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
    }

    /// <summary>The rate at the end of warm-up.</summary>
    public double Peak { get; }

    /// <summary>The rate at the last step.</summary>
    public double Minimum { get; }

    /// <summary>T, the number of steps.</summary>
    public long TotalSteps { get; }

    /// <summary>W, the warm-up steps.</summary>
    public long WarmupSteps { get; }

    /// <summary>The learning rate of step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        if (step < WarmupSteps)
        {
            return Peak * (step + 1) / WarmupSteps;
        }

        long decaySteps = TotalSteps - WarmupSteps;
        double progress = decaySteps <= 1 ? 1.0 : Math.Min(1.0, (double)(step - WarmupSteps) / (decaySteps - 1));
        return Minimum + (0.5 * (Peak - Minimum) * (1 + Math.Cos(Math.PI * progress)));
    }
}
