using System.Collections;
using System.Text.RegularExpressions;

namespace UnsupervisedFinetuning;

/// <summary>
/// An immutable list of named choices (<see cref="ICatalogEntry"/>) that every part of the product looks names up in:
/// dependency injection, the <c>uft</c> options and settings file, the search grid, the model card. The built-in
/// catalogs are <c>MethodCatalog.BuiltIn</c>, <c>MixingCatalog.BuiltIn</c>, <c>ReplaySelectionCatalog.BuiltIn</c> and
/// <c>ArchitectureCatalog.BuiltIn</c>; <see cref="With"/> returns one with your own entry added, and
/// <c>IUnsupervisedFinetuningBuilder.AddToCatalog</c> does that for a service container.
/// </summary>
/// <typeparam name="TEntry">The kind of choice.</typeparam>
/// <example><code>
/// var methods = MethodCatalog.BuiltIn.With(MethodEntry.Create&lt;MyOptions&gt;("mine", "My method.", o => new MyMethod(o)));
/// ISelfSupervisedMethod method = methods.Get("mine").Create(new MyOptions());
/// </code></example>
public sealed partial class Catalog<TEntry> : IReadOnlyList<TEntry>
    where TEntry : class, ICatalogEntry
{
    private readonly TEntry[] _entries;

    /// <summary>A catalog of these entries, in this order.</summary>
    /// <exception cref="ArgumentException">A name or alias is not lower-case letters, digits and hyphens, or two entries share one.</exception>
    public Catalog(IEnumerable<TEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _entries = [.. entries];
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in _entries)
        {
            ArgumentNullException.ThrowIfNull(entry, nameof(entries));
            foreach (string name in new[] { entry.Name }.Concat(entry.Aliases ?? []))
            {
                if (name is null || !NamePattern().IsMatch(name))
                {
                    throw new ArgumentException($"The {typeof(TEntry).Name} name '{name}' is not usable: expected lower-case letters, digits and hyphens, starting with a letter (e.g. \"mocov2\", \"target-nearest\").", nameof(entries));
                }

                if (!seen.TryAdd(name, entry.Name))
                {
                    throw new ArgumentException($"Two {typeof(TEntry).Name}s are named '{name}' ('{seen[name]}' and '{entry.Name}'); a name or alias may stand for one entry only.", nameof(entries));
                }
            }
        }
    }

    /// <summary>The entries' names, in order (aliases not included).</summary>
    public IReadOnlyList<string> Names => _entries.Select(e => e.Name).ToArray();

    /// <inheritdoc/>
    public int Count => _entries.Length;

    /// <inheritdoc/>
    public TEntry this[int index] => _entries[index];

    /// <summary>
    /// This catalog with <paramref name="entry"/> added at the end, or in the place of the entry of the same name (a
    /// replaced built-in keeps its position). This catalog is unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">The entry's name or an alias is taken by another entry, or is not usable.</exception>
    public Catalog<TEntry> With(TEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        int at = Array.FindIndex(_entries, e => string.Equals(e.Name, entry.Name, StringComparison.OrdinalIgnoreCase));
        return new Catalog<TEntry>(at < 0 ? _entries.Append(entry) : _entries.Select((e, i) => i == at ? entry : e));
    }

    /// <summary>The entry named (or aliased) <paramref name="name"/>, ignoring case; null when there is none.</summary>
    public TEntry? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? _entries.FirstOrDefault(e => (e.Aliases ?? []).Contains(name, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>The entry named (or aliased) <paramref name="name"/>, ignoring case.</summary>
    /// <exception cref="KeyNotFoundException">There is none; the message lists the names there are.</exception>
    public TEntry Get(string name) =>
        Find(name) ?? throw new KeyNotFoundException($"There is no {typeof(TEntry).Name} named '{name}'; the catalog has {Describe()}.");

    /// <summary>The names for a message: "mocov2, simclr, byol or simsiam".</summary>
    public string Describe() => _entries.Length switch
    {
        0 => "no entries",
        1 => _entries[0].Name,
        _ => string.Join(", ", _entries[..^1].Select(e => e.Name)) + " or " + _entries[^1].Name,
    };

    /// <inheritdoc/>
    public IEnumerator<TEntry> GetEnumerator() => ((IEnumerable<TEntry>)_entries).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();

    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex NamePattern();
}
