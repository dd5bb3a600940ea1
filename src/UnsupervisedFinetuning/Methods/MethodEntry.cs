namespace UnsupervisedFinetuning.Methods;

/// <summary>
/// A self-supervised method in a <see cref="Catalog{TEntry}"/> (<see cref="MethodCatalog"/>): its name, its options
/// type and how to create it from options. Dependency injection (<c>AddMethod("name")</c>), <c>uft --method</c>, the
/// settings file (a section per options type) and <c>uft search</c> all find methods here, so a method registered as
/// an entry is usable by name wherever the built-in ones are. The method's augmentation travels with the method
/// (<see cref="ISelfSupervisedMethod.Augmentation"/>).
/// </summary>
/// <example><code>
/// public static MethodEntry Entry { get; } = MethodEntry.For&lt;MyOptions&gt;("mine", "My method: …", o => new MyMethod(o));
/// </code></example>
public sealed class MethodEntry : CatalogEntry
{
    private readonly Func<object, ISelfSupervisedMethod> _create;
    private readonly Func<object> _newOptions;

    private MethodEntry(string name, string description, IReadOnlyList<string> aliases, Type optionsType, Func<object> newOptions, Func<object, ISelfSupervisedMethod> create)
        : base(name, description, aliases)
    {
        OptionsType = optionsType;
        _newOptions = newOptions;
        _create = create;
    }

    /// <summary>The type of the method's options (e.g. <see cref="MocoV2Options"/>): a class with a parameterless constructor.</summary>
    public Type OptionsType { get; }

    /// <summary>An entry for a method with options of type <typeparamref name="TOptions"/>.</summary>
    /// <typeparam name="TOptions">The options type; its defaults are a new instance's.</typeparam>
    /// <param name="name">The name users write (lower case, digits, hyphens).</param>
    /// <param name="description">One sentence for help texts.</param>
    /// <param name="create">Creates the method from validated-or-not options (the method validates them, as the built-in ones do).</param>
    /// <param name="aliases">Other names for it.</param>
    public static MethodEntry For<TOptions>(string name, string description, Func<TOptions, ISelfSupervisedMethod> create, params string[] aliases)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(aliases);
        return new MethodEntry(name, description, [.. aliases], typeof(TOptions), () => new TOptions(), options => create((TOptions)options));
    }

    /// <summary>A new options object with the method's defaults, of <see cref="OptionsType"/>.</summary>
    public object NewOptions() => _newOptions();

    /// <summary>Creates the method with <paramref name="options"/> (null: the defaults).</summary>
    /// <exception cref="ArgumentException">The options are not of <see cref="OptionsType"/>.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range (every failure named).</exception>
    /// <exception cref="InvalidOperationException">The entry's factory returned null.</exception>
    public ISelfSupervisedMethod Create(object? options = null)
    {
        options ??= NewOptions();
        if (!OptionsType.IsInstanceOfType(options))
        {
            throw new ArgumentException($"The method '{Name}' takes {OptionsType.Name}; got {options.GetType().Name}.", nameof(options));
        }

        return _create(options) ?? throw new InvalidOperationException($"The method entry '{Name}' created no method.");
    }
}
