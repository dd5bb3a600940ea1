namespace UnsupervisedFinetuning;

/// <summary>
/// The name, aliases and description every built-in kind of <see cref="ICatalogEntry"/> shares (methods, mixing
/// strategies, replay selection rules, architectures, image sources); what an entry creates is its subclass's.
/// </summary>
public abstract class CatalogEntry : ICatalogEntry
{
    /// <summary>An entry of this name and description.</summary>
    /// <param name="name">The name users write (the catalog checks its spelling).</param>
    /// <param name="description">One sentence for help texts and messages.</param>
    /// <param name="aliases">Other names for it; none when null.</param>
    /// <exception cref="ArgumentException">The name or description is empty.</exception>
    protected CatalogEntry(string name, string description, IEnumerable<string>? aliases)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        Name = name;
        Description = description;
        Aliases = [.. aliases ?? []];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Aliases { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
