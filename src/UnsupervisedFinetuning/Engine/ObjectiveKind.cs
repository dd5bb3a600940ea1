namespace UnsupervisedFinetuning.Engine;

/// <summary>The self-supervised objective, which also decides the parts around it.</summary>
public enum ObjectiveKind
{
    /// <summary>MoCo v2: InfoNCE against a negative queue, momentum key encoder, MLP head (τ = 0.2).</summary>
    MocoV2,

    /// <summary>SimCLR: NT-Xent over the 2B views of a batch, shared encoder, MLP head (τ = 0.5).</summary>
    SimClr,

    /// <summary>BYOL: regression of the online prediction onto a momentum target, symmetric, no negatives.</summary>
    Byol,
}
