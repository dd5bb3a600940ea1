namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// A rule that chooses which source images sparse replay uses, in a <see cref="Catalog{TEntry}"/>
/// (<see cref="ReplaySelectionCatalog"/>): its name, whether it reads the source's classes, and how to create its
/// <see cref="IReplaySelector"/>. <c>uft --replay-selection</c> and <c>uft search</c> find rules here.
/// </summary>
public sealed class ReplaySelectionEntry : CatalogEntry
{
    private readonly Func<SparseReplayOptions, IReplaySelector> _create;

    /// <summary>An entry for a rule of your own: <see cref="SparseSourceReplay"/> takes its selector.</summary>
    /// <param name="name">The name users write (lower case, digits, hyphens).</param>
    /// <param name="description">One sentence for help texts.</param>
    /// <param name="needsSourceLabels">The rule reads the source's classes (<see cref="Data.ILabeledImageDataset"/>).</param>
    /// <param name="create">Creates the selector from the replay options.</param>
    /// <param name="aliases">Other names for it.</param>
    public ReplaySelectionEntry(string name, string description, bool needsSourceLabels, Func<SparseReplayOptions, IReplaySelector> create, params string[] aliases)
        : this(name, description, needsSourceLabels, null, create, aliases)
    {
    }

    private ReplaySelectionEntry(string name, string description, bool needsSourceLabels, ReplaySelection? rule, Func<SparseReplayOptions, IReplaySelector> create, string[] aliases)
        : base(name, description, aliases ?? throw new ArgumentNullException(nameof(aliases)))
    {
        ArgumentNullException.ThrowIfNull(create);
        NeedsSourceLabels = needsSourceLabels;
        Rule = rule;
        _create = create;
    }

    /// <summary>The rule reads the source's classes: the source must be an <see cref="Data.ILabeledImageDataset"/>.</summary>
    public bool NeedsSourceLabels { get; }

    /// <summary>
    /// For a built-in rule, the <see cref="SparseReplayOptions.Selection"/> value that names it (so options files store
    /// it); null for a rule of your own, whose selector is given to <see cref="SparseSourceReplay"/>.
    /// </summary>
    public ReplaySelection? Rule { get; }

    /// <summary>The replay of these options with this rule: the options' <see cref="SparseReplayOptions.Selection"/> set to <see cref="Rule"/> for a built-in rule, the entry's selector for your own.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    public SparseSourceReplay CreateReplay(SparseReplayOptions? options = null)
    {
        var copy = options?.Clone() ?? new SparseReplayOptions();
        if (Rule is { } rule)
        {
            copy.Selection = rule;
            return new SparseSourceReplay(copy);
        }

        copy.Selection = ReplaySelection.Uniform;
        return new SparseSourceReplay(copy, _create(copy));
    }

    /// <summary>The selector of this rule for these options.</summary>
    public IReplaySelector CreateSelector(SparseReplayOptions? options = null) =>
        _create(options ?? new SparseReplayOptions()) ?? throw new InvalidOperationException($"The replay selection entry '{Name}' created no selector.");

    internal static ReplaySelectionEntry BuiltIn(string name, string description, bool needsSourceLabels, ReplaySelection rule, Func<SparseReplayOptions, IReplaySelector> create) =>
        new(name, description, needsSourceLabels, rule, create, []);
}
