using UnsupervisedFinetuning.Augment;

namespace UnsupervisedFinetuning.Methods;

/// <summary>
/// A self-supervised method — MoCo v2, SimCLR, BYOL, SimSiam, or your own: its validated settings and
/// how to build, around a backbone, the networks and state it trains for one run
/// (<see cref="ISelfSupervisedModel"/>). A method is an immutable recipe: the engine calls
/// <see cref="Build"/> once per run and disposes what it returns, so one instance may serve many engines
/// and be registered as a singleton.
/// </summary>
/// <example><code>
/// var engine = FinetuneEngine.Create(options, new MocoV2(new MocoV2Options { Temperature = 0.2 }));
/// </code></example>
public interface ISelfSupervisedMethod
{
    /// <summary>Short name for logs, reports and checkpoints, e.g. "MoCo v2".</summary>
    string Name { get; }

    /// <summary>
    /// The augmentation of the method's paper, carried by the method (a built-in one, e.g.
    /// <see cref="AugmentationRecipe.SimClr"/>, or its own). The engine uses it when
    /// <see cref="AugmentationOptions.Preset"/> is <see cref="AugmentationPreset.Auto"/> and the views are
    /// larger than 64 px (smaller ones get <see cref="AugmentationRecipe.SmallImage"/>).
    /// </summary>
    AugmentationRecipe Augmentation { get; }

    /// <summary>
    /// Every setting that changes training, by name, as invariant strings (e.g. "Temperature" → "0.2").
    /// The engine logs them and stores them in checkpoints; a run resumes only with equal settings.
    /// </summary>
    IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>Builds the networks and state of one run around <see cref="MethodContext.Backbone"/>.</summary>
    /// <exception cref="ArgumentException">A head or predictor given to continue from does not fit the backbone.</exception>
    ISelfSupervisedModel Build(MethodContext context);
}
