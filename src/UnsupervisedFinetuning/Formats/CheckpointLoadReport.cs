using static UnsupervisedFinetuning.IO.ExceptionText;

namespace UnsupervisedFinetuning.Formats;

/// <summary>A parameter whose shape in the checkpoint differs from the model's.</summary>
/// <param name="Key">The model's parameter name.</param>
/// <param name="CheckpointShape">Shape stored in the checkpoint.</param>
/// <param name="ModelShape">Shape the model expects.</param>
public sealed record ShapeMismatch(string Key, long[] CheckpointShape, long[] ModelShape)
{
    /// <summary>The key (control characters made printable: it is text from the file) and both shapes.</summary>
    public override string ToString() => $"'{Printable(Key)}': checkpoint [{string.Join(",", CheckpointShape)}], model [{string.Join(",", ModelShape)}]";
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

    /// <summary>
    /// Missing model keys that the checkpoint does hold but the key map dropped (for example <c>fc.*</c>
    /// while <see cref="CheckpointKeyMap.KeepClassifier"/> is false): after a non-strict load they keep
    /// their current, possibly random, values.
    /// </summary>
    public IReadOnlyList<string> MissingButDropped =>
        Missing.Where(key => Dropped.Any(d => d == key || d.EndsWith("." + key, StringComparison.Ordinal))).ToList();

    /// <inheritdoc />
    public override string ToString()
    {
        string text = $"{Source}: {Loaded.Count} loaded, {Missing.Count} missing, {Unexpected.Count} unexpected, {ShapeMismatches.Count} shape mismatches, {Dropped.Count} dropped";
        var droppedMissing = MissingButDropped;
        return droppedMissing.Count == 0 ? text : $"{text}; {DescribeDroppedMissing(droppedMissing)}";
    }

    /// <summary>A sentence about model keys the key map dropped from the checkpoint.</summary>
    internal static string DescribeDroppedMissing(IReadOnlyList<string> keys) =>
        $"{string.Join(", ", keys.Take(4).Select(key => Printable(key)))}{(keys.Count > 4 ? $" (+{keys.Count - 4} more)" : "")} {(keys.Count == 1 ? "is" : "are")} in the checkpoint but the key map dropped " +
        $"{(keys.Count == 1 ? "it" : "them")}{(keys.Any(k => k.StartsWith("fc.", StringComparison.Ordinal)) ? " (CheckpointKeyMap.KeepClassifier is false; set it to load fc.*)" : " (see CheckpointKeyMap.DropPrefixes)")}, " +
        "so a non-strict load leaves them at their current values";
}
