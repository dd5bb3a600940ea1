using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Monitoring;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>Which source → target pairing to run.</summary>
internal enum Pairing
{
    /// <summary>Fashion-MNIST classes 0–4 → Fashion-MNIST classes 5–9.</summary>
    Near,

    /// <summary>Fashion-MNIST classes 0–4 → MNIST digits.</summary>
    Far,
}

/// <summary>
/// Everything the experiment is configured with (from the command line). <paramref name="Sweep"/> is null for the
/// five-arm comparison, else which part of the trade-off sweep to run: "all", "grid" or "rules". <paramref name="Precision"/>
/// is the training step's (the monitors and the evaluation stay float32, so only training differs). With
/// <paramref name="RenderOnly"/> nothing is trained: the report saved in <paramref name="Output"/> is written again.
/// </summary>
internal sealed record Settings(
    Pairing Pairing,
    IReadOnlyList<long> Seeds,
    int TargetSize,
    int Steps,
    int BatchSize,
    double LearningRate,
    double ReplayRatio,
    double MixingAlpha,
    string MixingMode,
    MixingCompute MixingCompute,
    DirectoryInfo Output,
    DirectoryInfo Data,
    string Device,
    MonitorCriterion Criterion,
    bool Study,
    string? Sweep = null,
    ComputePrecision Precision = ComputePrecision.Float32,
    bool RenderOnly = false);
