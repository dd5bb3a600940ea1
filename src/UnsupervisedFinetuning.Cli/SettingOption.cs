using System.CommandLine;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// One command-line option that sets a field of <see cref="FinetuneSettings"/>: the option, declared once, and what
/// its value does to the settings. A command applies its options in order over the settings read from a file, so
/// what the command line gives overrides the file, field by field, and what it does not give leaves the file's value.
/// </summary>
internal sealed class SettingOption
{
    private readonly Action<ParseResult, FinetuneSettings, SettingOrigins> _apply;

    private readonly bool _always;

    private SettingOption(Option option, Action<ParseResult, FinetuneSettings, SettingOrigins> apply, bool always = false)
    {
        Option = option;
        _apply = apply;
        _always = always;
    }

    public Option Option { get; }

    /// <summary>The option was written on the command line.</summary>
    public bool Given(ParseResult parse) => parse.GetResult(Option) is { Implicit: false };

    /// <summary>Sets the option's field of <paramref name="settings"/> when the option was given (a path option also notes where a value from the file came from).</summary>
    public void Apply(ParseResult parse, FinetuneSettings settings, SettingOrigins origins)
    {
        if (_always || Given(parse))
        {
            _apply(parse, settings, origins);
        }
    }

    /// <summary>This option, applied only when <paramref name="other"/> was not given (--epochs gives way to --steps).</summary>
    public SettingOption UnlessGiven(SettingOption other) =>
        new(Option, (parse, settings, origins) =>
        {
            if (!other.Given(parse))
            {
                _apply(parse, settings, origins);
            }
        }, _always);

    /// <summary>An option of a number or switch; <paramref name="set"/> runs with its value when given.</summary>
    public static SettingOption Value<T>(string name, string description, Action<FinetuneSettings, T> set)
        where T : struct =>
        Value(new Option<T?>(name) { Description = description }, set);

    /// <summary>An option declared elsewhere (the model options), bound here.</summary>
    public static SettingOption Value<T>(Option<T?> option, Action<FinetuneSettings, T> set)
        where T : struct =>
        new(option, (parse, settings, _) =>
        {
            if (parse.GetValue(option) is { } value)
            {
                set(settings, value);
            }
        });

    /// <summary>An option of text (a name, a list); <paramref name="set"/> parses it and runs when given.</summary>
    public static SettingOption Text(string name, string description, Action<FinetuneSettings, string> set) =>
        Text(new Option<string?>(name) { Description = description }, set);

    /// <summary>An option of text declared elsewhere, bound here.</summary>
    public static SettingOption Text(Option<string?> option, Action<FinetuneSettings, string> set) =>
        new(option, (parse, settings, _) =>
        {
            if (parse.GetValue(option) is { } value)
            {
                set(settings, value);
            }
        });

    /// <summary>
    /// An option of a file or folder path, stored in the settings field <paramref name="field"/>: a value from the settings
    /// file is named by that field (and the file) in messages, one from the command line by the option.
    /// </summary>
    public static SettingOption Path(Option<string?> option, string field, Func<FinetuneSettings, string?> get, Action<FinetuneSettings, string?> set) =>
        new(option, (parse, settings, origins) => set(settings, origins.Path(option.Name, field, parse.GetValue(option), get(settings))), always: true);

    /// <summary>A path option declared here.</summary>
    public static SettingOption Path(string name, string description, string field, Func<FinetuneSettings, string?> get, Action<FinetuneSettings, string?> set) =>
        Path(new Option<string?>(name) { Description = description }, field, get, set);
}
