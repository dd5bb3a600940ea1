using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The command line's own mistakes in options and values: "<c>--steps is 'abc'; expected a whole number</c>" where
/// System.CommandLine would name a .NET type. Numbers are read the same on every machine (a point for decimals,
/// whatever the culture: under de-DE, System.CommandLine read <c>--lr 0.03</c> as 3).
/// </summary>
internal static partial class ParseErrors
{
    /// <summary>Reads every number option of <paramref name="command"/> and its subcommands invariantly, saying what a bad value should be.</summary>
    public static void UseInvariantNumbers(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<int> o:
                    o.CustomParser = r => (int)(Whole(r, o.Name, int.MinValue, int.MaxValue) ?? 0);
                    break;
                case Option<int?> o:
                    o.CustomParser = r => (int?)Whole(r, o.Name, int.MinValue, int.MaxValue);
                    break;
                case Option<long> o:
                    o.CustomParser = r => Whole(r, o.Name, long.MinValue, long.MaxValue) ?? 0;
                    break;
                case Option<long?> o:
                    o.CustomParser = r => Whole(r, o.Name, long.MinValue, long.MaxValue);
                    break;
                case Option<double> o:
                    o.CustomParser = r => Number(r, o.Name) ?? 0;
                    break;
                case Option<double?> o:
                    o.CustomParser = r => Number(r, o.Name);
                    break;
            }
        }

        foreach (var subcommand in command.Subcommands)
        {
            UseInvariantNumbers(subcommand);
        }
    }

    /// <summary>Every error of <paramref name="parsed"/>, one sentence each, naming options and values and never a .NET type.</summary>
    public static IReadOnlyList<string> Describe(ParseResult parsed)
    {
        var messages = new List<string>();
        var command = parsed.CommandResult.Command;
        bool atRoot = parsed.CommandResult.Parent is null;
        foreach (var error in parsed.Errors)
        {
            switch (error.SymbolResult)
            {
                case OptionResult { Tokens.Count: 0 } o when o.Option.Arity.MinimumNumberOfValues > 0:
                    messages.Add($"{o.Option.Name} needs a value: {ValueKind.Of(o.Option.ValueType)}.");
                    break;
                case OptionResult o when o.Tokens.Count > o.Option.Arity.MaximumNumberOfValues:
                    messages.Add($"{o.Option.Name} is given {o.Tokens.Count} times ({string.Join(", ", o.Tokens.Select(t => $"'{t.Value}'"))}); give it once.");
                    break;
                case CommandResult when parsed.UnmatchedTokens.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal)):
                    break; // said below, token by token
                case CommandResult when atRoot:
                    if (parsed.UnmatchedTokens.Count == 0)
                    {
                        messages.Add($"no command given; expected {Commands(command)}.");
                    }

                    break;
                default:
                    messages.Add(WithoutTypeNames(error.Message));
                    break;
            }
        }

        var unmatched = Unmatched(parsed, command, atRoot).ToList();
        if (atRoot && unmatched.Any(m => m.Contains(" is not a command;", StringComparison.Ordinal)))
        {
            // "uft finetun --steps 3": the options belong to the misspelt command; naming them too would mislead.
            unmatched.RemoveAll(m => m.Contains(" is not an option of uft itself", StringComparison.Ordinal));
        }

        messages.AddRange(unmatched);
        return messages.Distinct().ToList();
    }

    // Tokens that are neither an option nor an option's value.
    private static IEnumerable<string> Unmatched(ParseResult parsed, Command command, bool atRoot)
    {
        var tokens = parsed.Tokens;
        int searchFrom = 0;
        string? unknownOption = null;
        foreach (string text in parsed.UnmatchedTokens)
        {
            int index = Enumerable.Range(searchFrom, Math.Max(0, tokens.Count - searchFrom)).FirstOrDefault(i => tokens[i].Value == text, -1);
            searchFrom = index + 1;
            var previous = index > 0 ? tokens[index - 1].Value : null;
            var previousOption = previous is null ? null : command.Options.FirstOrDefault(o => o.Name == previous || o.Aliases.Contains(previous));
            if (text.StartsWith('-') && !NegativeNumber().IsMatch(text))
            {
                unknownOption = text;
                yield return UnknownOption(text, command, atRoot);
            }
            else if (previous is not null && previous == unknownOption)
            {
                // The value of the unknown option just named: nothing more to say about it.
            }
            else if (atRoot)
            {
                string? meant = NearestName.Find(text, command.Subcommands.Select(c => c.Name));
                yield return $"'{text}' is not a command; expected {Commands(command)}{(meant is null ? "" : $" (did you mean '{meant}'?)")}.";
            }
            else if (previousOption is not null && (previousOption.ValueType == typeof(bool) || previousOption.ValueType == typeof(bool?)))
            {
                yield return $"{previousOption.Name} is '{text}'; expected true or false, or nothing ({previousOption.Name} alone is true).";
            }
            else if (index > 1 && command.Options.FirstOrDefault(o => o.Name == tokens[index - 2].Value) is { } valued && valued.ValueType == typeof(string))
            {
                yield return $"'{text}' follows the value of {valued.Name} ('{previous}'), which takes one; quote a value with spaces.";
            }
            else
            {
                yield return $"'{text}' is not an option of 'uft {command.Name}', nor the value of one.";
            }
        }
    }

    private static string UnknownOption(string written, Command command, bool atRoot)
    {
        if (atRoot)
        {
            return $"{written} is not an option of uft itself; give the command first (uft <command> {written} …), one of {Commands(command)}.";
        }

        string name = written.Split('=', ':')[0];
        var names = command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal)).ToList();
        // A near spelling, or the settings field's name written as an option (--learning-rate for --lr).
        string? meant = NearestName.Find(name, names)
            ?? (SettingNames.OptionForField(name.TrimStart('-')) is { } option && names.Contains(option) ? option : null);
        return $"{name} is not an option of 'uft {command.Name}'{(meant is null ? "" : $"; did you mean {meant}?")}{(meant is null ? $" (uft {command.Name} --help lists them)." : "")}";
    }

    private static string Commands(Command root) => string.Join(", ", root.Subcommands.Select(c => c.Name).SkipLast(1)) + " or " + root.Subcommands[^1].Name;

    private static long? Whole(ArgumentResult result, string option, long minimum, long maximum)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (long.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out long value) && value >= minimum && value <= maximum)
        {
            return value;
        }

        bool wholeButLarge = System.Numerics.BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        result.AddError($"{option} is '{text}'; expected a whole number{(wholeButLarge ? string.Create(CultureInfo.InvariantCulture, $" from {minimum} to {maximum}") : "")}.");
        return null;
    }

    private static double? Number(ArgumentResult result, string option)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value))
        {
            return value;
        }

        result.AddError($"{option} is '{text}'; expected a number{(text.Contains(',', StringComparison.Ordinal) ? " (a point for decimals: 0.5, not 0,5)" : "")}.");
        return null;
    }

    /// <summary>A message of System.CommandLine with the .NET types it names said in words ("System.Nullable`1[System.Int32]" → "a whole number").</summary>
    internal static string WithoutTypeNames(string message) =>
        TypeName().Replace(message, m => (m.Groups["as"].Success ? "as " : "") + (Type.GetType(m.Groups["type"].Value) is { } type ? ValueKind.Of(type) : "a value"));

    [GeneratedRegex(@"^-\d")]
    private static partial Regex NegativeNumber();

    [GeneratedRegex(@"(?<as>as expected type )?'(?<type>System\.[\w`\[\].,]+)'")]
    private static partial Regex TypeName();
}
