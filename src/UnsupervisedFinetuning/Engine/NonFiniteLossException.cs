namespace UnsupervisedFinetuning.Engine;

/// <summary>Training stopped because the loss became NaN or infinite.</summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(long step, double loss, string? lastCheckpoint)
        : base($"The loss became {loss} at step {step}; training stopped without applying that step. " +
               (lastCheckpoint is null
                   ? "No checkpoint was written (set FinetuneOptions.CheckpointDirectory to keep one). "
                   : $"The last good checkpoint is {lastCheckpoint}. ") +
               "Lower the learning rate, raise the temperature, or set NonFiniteLoss = SkipStep.")
    {
        Step = step;
        Loss = loss;
        LastCheckpoint = lastCheckpoint;
    }

    /// <summary>The step whose loss was not finite (0-based).</summary>
    public long Step { get; }

    /// <summary>The loss value.</summary>
    public double Loss { get; }

    /// <summary>The last checkpoint written before the failure, if any.</summary>
    public string? LastCheckpoint { get; }
}
