namespace UnsupervisedFinetuning;

/// <summary>
/// One named choice of a <see cref="Catalog{TEntry}"/>: a self-supervised method, a mixing strategy, a replay
/// selection rule, a backbone architecture. The name is what a user writes (<c>uft --method simclr</c>, the settings
/// file's <c>"method": "simclr"</c>, <c>builder.AddMethod("simclr")</c>).
/// </summary>
public interface ICatalogEntry
{
    /// <summary>The name users write: lower case, digits and hyphens (e.g. "mocov2", "target-nearest").</summary>
    string Name { get; }

    /// <summary>Other names that mean this entry (e.g. "moco" for "mocov2"); may be empty.</summary>
    IReadOnlyList<string> Aliases { get; }

    /// <summary>One sentence for help texts and error messages.</summary>
    string Description { get; }
}
