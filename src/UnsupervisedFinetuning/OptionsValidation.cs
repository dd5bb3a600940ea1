using System.Globalization;
using Microsoft.Extensions.Options;

namespace UnsupervisedFinetuning;

/// <summary>
/// Collects the failures of one options object, each naming the field, its value and what is expected:
/// "<c>MocoV2Options.Temperature is 0; expected a finite value ≥ 1e-8.</c>". Every options type has one
/// <see cref="IValidateOptions{TOptions}"/> built on this, used both by dependency injection and by the
/// constructors that take the options directly.
/// </summary>
internal sealed class OptionsFailures(string prefix)
{
    private readonly List<string> _failures = [];

    public void Require(bool ok, string field, object? value, string expected)
    {
        if (!ok)
        {
            _failures.Add($"{prefix}.{field} is {Format(value)}; expected {expected}.");
        }
    }

    /// <summary>Adds the failures of a nested options object (their messages already carry its full path).</summary>
    public void AddNested(ValidateOptionsResult nested)
    {
        if (nested.Failed)
        {
            _failures.AddRange(nested.Failures ?? []);
        }
    }

    public ValidateOptionsResult Result() => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);

    internal static string Format(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        float[] a => $"[{string.Join(", ", a.Select(v => v.ToString(CultureInfo.InvariantCulture)))}]",
        double d => d.ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
    };
}

/// <summary>Runs a validator outside dependency injection.</summary>
internal static class OptionsValidation
{
    /// <summary>Throws <see cref="OptionsValidationException"/> listing every failure; returns the options otherwise.</summary>
    public static TOptions ThrowIfInvalid<TOptions>(this IValidateOptions<TOptions> validator, TOptions options)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), result.Failures);
        }

        return options;
    }

    /// <summary>A finite value at least <paramref name="minimum"/>.</summary>
    public static bool IsFiniteAtLeast(double value, double minimum) => double.IsFinite(value) && value >= minimum;
}

/// <summary>
/// The settings of a strategy as invariant strings, for logs and for the fingerprint a resumed run must
/// match: every public property of its options, doubles in round-trip form, null as "auto".
/// </summary>
internal static class StrategySettings
{
    public static IReadOnlyDictionary<string, string> Of(object options, params (string Name, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in options.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            settings[property.Name] = Format(property.GetValue(options));
        }

        foreach (var (name, value) in extra)
        {
            settings[name] = value;
        }

        return settings;
    }

    public static string Format(object? value) => value switch
    {
        null => "auto",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        float[] a => string.Join(",", a.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "auto",
    };

    /// <summary>"Name (k1 = v1, k2 = v2)" for log lines.</summary>
    public static string Describe(string name, IReadOnlyDictionary<string, string> settings) =>
        settings.Count == 0 ? name : $"{name} ({string.Join(", ", settings.Select(kv => $"{kv.Key} = {kv.Value}"))})";
}
