namespace UnsupervisedFinetuning.Engine;

/// <summary>What the engine does when a step's loss is NaN or infinite.</summary>
public enum NonFiniteLossPolicy
{
    /// <summary>Stop with a <see cref="NonFiniteLossException"/> naming the step and the last good checkpoint.</summary>
    Throw,

    /// <summary>Skip the update of that step (no backward, no optimizer step, no EMA or queue update), log a warning and go on.</summary>
    SkipStep,
}
