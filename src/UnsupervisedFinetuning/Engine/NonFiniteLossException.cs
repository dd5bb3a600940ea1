namespace UnsupervisedFinetuning.Engine;

/// <summary>Training stopped because the loss became NaN or infinite.</summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">The step whose loss was not finite (the first step is 1).</param>
    /// <param name="loss">The loss value.</param>
    /// <param name="lastCheckpoint">The last checkpoint written before it, if any.</param>
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

    /// <summary>The step whose loss was not finite, numbered as progress reports count steps (the first step is 1).</summary>
    public long Step { get; }

    /// <summary>The loss value.</summary>
    public double Loss { get; }

    /// <summary>The last checkpoint written before the failure, if any.</summary>
    public string? LastCheckpoint { get; }
}
