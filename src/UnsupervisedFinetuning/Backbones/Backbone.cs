using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// The contract every backbone honours (after timm's forward_features / num_features / reset_classifier):
/// images [B,C,H,W] in, pooled features [B,<see cref="FeatureDimension"/>] out; an optional linear
/// classifier named <c>fc</c> (torchvision's name, so checkpoints map); device placement through
/// TorchSharp's <c>to(device)</c>; and a fresh copy of the architecture for momentum encoders.
/// Parameter names follow torchvision so that PyTorch checkpoints load by name.
/// </summary>
public abstract class Backbone : nn.Module<Tensor, Tensor>
{
    private Linear? _classifier;

    /// <summary>Initialises the module with a display name.</summary>
    protected Backbone(string name)
        : base(WithNativeBackend(name))
    {
    }

    // A backbone is usually an application's first TorchSharp object: load the native backend before the
    // module's constructor does, so that a missing one is reported by what to reference, not TorchSharp's
    // fallback message.
    private static string WithNativeBackend(string name)
    {
        TorchDevices.EnsureNativeBackend();
        return name;
    }

    /// <summary>Width of the pooled feature vector.</summary>
    public abstract int FeatureDimension { get; }

    /// <summary>Number of image channels expected at the input.</summary>
    public abstract int InputChannels { get; }

    /// <summary>The linear classifier on top of the features, if any.</summary>
    public Linear? Classifier => _classifier;

    /// <summary>Device of the backbone's parameters.</summary>
    public Device Device => parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>
    /// What this backbone is, for <see cref="PretrainedModel.Save"/>: enough to build the same architecture again.
    /// Null (the default) for a backbone that cannot describe itself; the library's own architectures can.
    /// </summary>
    public virtual BackboneDescription? Describe() => null;

    /// <summary>The classifier's class count, for <see cref="Describe"/>; null without a classifier.</summary>
    protected int? ClassifierClasses => _classifier is null ? null : (int)_classifier.out_features;

    /// <summary>
    /// Pooled features [B, FeatureDimension] of <paramref name="images"/> [B,C,H,W]. The library's backbones
    /// return float32 features even when their convolutions compute in bfloat16 (<see cref="ComputePrecision"/>);
    /// an implementation of your own should return float32 too.
    /// </summary>
    public abstract Tensor ForwardFeatures(Tensor images);

    /// <summary>Features, or the classifier's logits when a classifier is set.</summary>
    public override Tensor forward(Tensor input) =>
        _classifier is null ? ForwardFeatures(input) : Autocast.Float32(Autocast.Linear(_classifier, ForwardFeatures(input)));

    /// <summary>Installs a new, randomly initialised linear classifier <c>fc</c> with <paramref name="classes"/> outputs on the backbone's device.</summary>
    public void ReplaceClassifier(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        var device = Device;
        RemoveClassifier();
        _classifier = nn.Linear(FeatureDimension, classes);
        _classifier.to(device);
        register_module("fc", _classifier);
    }

    /// <summary>Removes the classifier; <see cref="nn.Module{T, TResult}.forward"/> then returns features.</summary>
    public void RemoveClassifier()
    {
        if (_classifier is null)
        {
            return;
        }

        // TorchSharp's register_module removes the entry registered under a name when given null.
        register_module("fc", null!);
        _classifier.Dispose();
        _classifier = null;
    }

    /// <summary>
    /// True for the library's backbones, whose convolutions compute in the lower precision of a mixed-precision
    /// region (see <see cref="ComputePrecision"/>); a backbone of another assembly computes in float32 there.
    /// </summary>
    internal virtual bool UsesAutocast => false;

    /// <summary>A new backbone of the same architecture and configuration, randomly initialised, on the CPU.</summary>
    public abstract Backbone CloneArchitecture();
}
