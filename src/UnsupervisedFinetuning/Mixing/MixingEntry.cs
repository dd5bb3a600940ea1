namespace UnsupervisedFinetuning.Mixing;

/// <summary>
/// A data-mixing strategy in a <see cref="Catalog{TEntry}"/> (<see cref="MixingCatalog"/>): its name, its options type
/// (none for "none") and how to create it. <c>uft --mixing</c>, the settings file and <c>uft search</c>'s grid find
/// mixing strategies here.
/// </summary>
public sealed class MixingEntry : CatalogEntry
{
    private readonly Func<object?, IMixingStrategy> _create;
    private readonly Func<object>? _newOptions;

    private MixingEntry(string name, string description, IReadOnlyList<string> aliases, Type? optionsType, Func<object>? newOptions, Func<object?, IMixingStrategy> create)
        : base(name, description, aliases)
    {
        OptionsType = optionsType;
        _newOptions = newOptions;
        _create = create;
    }

    /// <summary>The type of the strategy's options (e.g. <see cref="MixingOptions"/>); null when it has none.</summary>
    public Type? OptionsType { get; }

    /// <summary>An entry for a strategy with options of type <typeparamref name="TOptions"/>.</summary>
    /// <param name="name">The name users write (lower case, digits, hyphens).</param>
    /// <param name="description">One sentence for help texts.</param>
    /// <param name="create">Creates the strategy from options (the strategy validates them).</param>
    /// <param name="aliases">Other names for it.</param>
    public static MixingEntry For<TOptions>(string name, string description, Func<TOptions, IMixingStrategy> create, params string[] aliases)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(aliases);
        return new MixingEntry(name, description, [.. aliases], typeof(TOptions), () => new TOptions(), options => create((TOptions)options!));
    }

    /// <summary>An entry for a strategy without options.</summary>
    /// <param name="name">The name users write.</param>
    /// <param name="description">One sentence for help texts.</param>
    /// <param name="create">Creates the strategy.</param>
    /// <param name="aliases">Other names for it.</param>
    public static MixingEntry WithoutOptions(string name, string description, Func<IMixingStrategy> create, params string[] aliases)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(aliases);
        return new MixingEntry(name, description, [.. aliases], null, null, _ => create());
    }

    /// <summary>A new options object with the strategy's defaults; null when it has no options.</summary>
    public object? NewOptions() => _newOptions?.Invoke();

    /// <summary>Creates the strategy with <paramref name="options"/> (null: the defaults).</summary>
    /// <exception cref="ArgumentException">The options are not of <see cref="OptionsType"/>.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    /// <exception cref="InvalidOperationException">The entry's factory returned null.</exception>
    public IMixingStrategy Create(object? options = null)
    {
        if (OptionsType is null)
        {
            options = null;
        }
        else if ((options ??= NewOptions()) is not { } given || !OptionsType.IsInstanceOfType(given))
        {
            throw new ArgumentException($"The mixing strategy '{Name}' takes {OptionsType.Name}; got {options?.GetType().Name}.", nameof(options));
        }

        return _create(options) ?? throw new InvalidOperationException($"The mixing entry '{Name}' created no strategy.");
    }
}
