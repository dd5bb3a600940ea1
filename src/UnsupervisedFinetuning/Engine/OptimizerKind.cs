namespace UnsupervisedFinetuning.Engine;

/// <summary>The optimizer of the trainable parameters.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum (MoCo's choice).</summary>
    Sgd,

    /// <summary>AdamW (decoupled weight decay).</summary>
    AdamW,

    /// <summary>LARS (You et al. 2017; SimCLR, BYOL): SGD with momentum and a per-layer trust ratio; biases and norms are not adapted or decayed.</summary>
    Lars,
}
