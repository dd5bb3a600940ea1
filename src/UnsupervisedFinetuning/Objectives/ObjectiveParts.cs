namespace UnsupervisedFinetuning.Objectives;

/// <summary>
/// The stateful parts an objective needs around it; the engine assembles exactly these. MoCo v2:
/// negative queue + momentum target. SimCLR: none (both views through the online network, both with
/// gradients). BYOL: momentum target + predictor, loss symmetrised over the two views.
/// </summary>
[Flags]
public enum ObjectiveParts
{
    /// <summary>Keys come from the online network itself and carry gradients.</summary>
    None = 0,

    /// <summary>A queue of negative keys (MoCo).</summary>
    NegativeQueue = 1,

    /// <summary>Keys come from a momentum (EMA) copy of the online network, without gradients.</summary>
    MomentumTarget = 2,

    /// <summary>A predictor head on the online branch only (BYOL).</summary>
    Predictor = 4,

    /// <summary>The loss is also computed with the views swapped and the two are added (BYOL).</summary>
    SymmetricLoss = 8,
}
