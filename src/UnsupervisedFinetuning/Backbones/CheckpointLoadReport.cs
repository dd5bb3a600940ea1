namespace UnsupervisedFinetuning.Backbones;

/// <summary>A parameter whose shape in the checkpoint differs from the model's.</summary>
/// <param name="Key">The model's parameter name.</param>
/// <param name="CheckpointShape">Shape stored in the checkpoint.</param>
/// <param name="ModelShape">Shape the model expects.</param>
public sealed record ShapeMismatch(string Key, long[] CheckpointShape, long[] ModelShape)
{
    /// <inheritdoc />
    public override string ToString() => $"'{Key}': checkpoint [{string.Join(",", CheckpointShape)}], model [{string.Join(",", ModelShape)}]";
}

/// <summary>What loading a checkpoint into a model did.</summary>
/// <param name="Source">The checkpoint file.</param>
/// <param name="Loaded">Model keys whose values were copied from the checkpoint.</param>
/// <param name="Missing">Model keys the checkpoint does not provide (they keep their current values).</param>
/// <param name="Unexpected">Mapped checkpoint keys the model does not have.</param>
/// <param name="ShapeMismatches">Keys present in both with different shapes (not loaded).</param>
/// <param name="Dropped">Original checkpoint keys dropped by the key map (heads, key encoder, queue, …).</param>
public sealed record CheckpointLoadReport(
    string Source,
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> ShapeMismatches,
    IReadOnlyList<string> Dropped)
{
    /// <summary>Whether every model key was loaded and nothing was left over.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Source}: {Loaded.Count} loaded, {Missing.Count} missing, {Unexpected.Count} unexpected, {ShapeMismatches.Count} shape mismatches, {Dropped.Count} dropped";
}
