using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The values the commands' options take, parsed in one place: precisions, replay selection rules, monitor criteria,
/// and the size bound. Shared by finetune, evaluate, embed and search; method, mixing and selection names come from
/// the catalogs (<see cref="UftCatalogs"/>).
/// </summary>
internal static class OptionValues
{
    /// <summary>The largest --working-size and --image-size: ImageFolderOptions' bound on a decoded side.</summary>
    internal const int MaxWorkingSize = 4096;

    /// <summary>The criteria by their command-line names (the library's <see cref="MonitorCriteria"/>).</summary>
    public static IReadOnlyDictionary<string, MonitorCriterion> Criteria => MonitorCriteria.ByName;

    /// <summary>The --precision help text shared by the commands.</summary>
    internal const string PrecisionHelp = "float32, bfloat16 or auto: the dtype convolutions and linear layers compute in (weights, statistics and losses stay float32). bfloat16 pays only where it is native (CPUs with AVX-512 BF16 or AMX, CUDA GPUs of compute capability 8.0+) and is emulated, many times slower, elsewhere; auto picks it only where it is native.";

    /// <summary>A --precision value; float16 only where no gradients are computed (<paramref name="training"/> false).</summary>
    internal static ComputePrecision ParsePrecision(string value, bool training) => value.ToLowerInvariant() switch
    {
        "float32" or "fp32" => ComputePrecision.Float32,
        "bfloat16" or "bf16" => ComputePrecision.BFloat16,
        "auto" => ComputePrecision.Auto,
        "float16" or "fp16" when !training => ComputePrecision.Float16,
        "float16" or "fp16" => throw new UsageException("--precision float16 is not available for training: it needs dynamic loss scaling, which this version does not implement; use bfloat16 (float32's range, no loss scaling) or auto."),
        _ => throw new UsageException($"--precision is '{value}'; expected float32, bfloat16{(training ? "" : ", float16")} or auto."),
    };

    /// <summary>
    /// A --replay-selection value, as the options' <see cref="ReplaySelection"/> (the settings file stores it so). A rule
    /// of one's own in the catalog has no such value: the library takes it (<c>ReplaySelectionEntry.CreateReplay</c>),
    /// uft does not yet.
    /// </summary>
    internal static ReplaySelection ParseSelection(string value, UftCatalogs catalogs) =>
        catalogs.Selection(value).Rule ?? throw new UsageException($"--replay-selection is '{value}', a rule of the library's catalog that uft cannot store in its settings file; expected {string.Join(", ", catalogs.Selections.Where(s => s.Rule is not null).Select(s => s.Name))}.");

    /// <summary>The rule reads the source's classes: the source is read as a labelled set.</summary>
    internal static bool NeedsSourceLabels(ReplaySelection rule) => ReplaySelectionCatalog.BuiltIn.First(e => e.Rule == rule).NeedsSourceLabels;
}
