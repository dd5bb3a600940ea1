using System.CommandLine;
using System.CommandLine.Help;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Spectre.Console;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;

namespace UnsupervisedFinetuning.Cli;

/// <summary>The <c>uft</c> command line: finetune, evaluate, embed, search.</summary>
internal static class Uft
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code (<see cref="ExitCodes"/>).</summary>
    /// <param name="args">The arguments after <c>uft</c>.</param>
    /// <param name="console">Where results, tables and progress go.</param>
    /// <param name="error">Where errors go.</param>
    /// <param name="stop">Cancelled by Ctrl+C: commands stop at the next safe point.</param>
    /// <param name="catalogs">The methods, mixing strategies and selection rules the commands know by name (default: the built-in ones).</param>
    public static int Run(string[] args, IAnsiConsole console, TextWriter error, CancellationToken stop, UftCatalogs? catalogs = null)
    {
        catalogs ??= UftCatalogs.BuiltIn;
        var root = new RootCommand("uft — unsupervised finetuning of vision backbones: finetune with sparse source replay and data mixing, evaluate, embed.")
        {
            FinetuneCommand.Create(console, stop, catalogs),
            EvaluateCommand.Create(console, stop, catalogs),
            EmbedCommand.Create(console, stop, catalogs),
            SearchCommand.Create(console, stop, catalogs),
        };
        ParseErrors.UseInvariantNumbers(root);
        foreach (var help in root.Options.OfType<HelpOption>())
        {
            if (help.Action is HelpAction action)
            {
                action.MaxWidth = console.Profile.Width; // the terminal's width, or 80 when the output is not one
            }
        }

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (string problem in ParseErrors.Describe(parsed))
            {
                error.WriteLine($"uft: {ConsoleText.Printable(problem)}");
            }

            error.WriteLine("Run 'uft --help' or 'uft <command> --help' for the options.");
            return ExitCodes.Usage;
        }

        // Messages name options and settings fields as this command line wrote them (read only when one is printed).
        var names = new Lazy<SettingNames>(() => new SettingNames(parsed, catalogs));
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = console.Profile.Out.Writer, Error = error });
        }
        catch (UsageException e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(names.Value.Message(e.Message))}");
            return ExitCodes.Usage;
        }
        catch (OptionsValidationException e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(string.Join(" ", e.Failures.Select(names.Value.Failure)))}");
            return ExitCodes.Usage;
        }
        catch (UnsupervisedFinetuning.Engine.RunFolderInUseException e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(e.Message)}"); // names the holder; the operating system's refusal adds nothing
            return ExitCodes.Failure;
        }
        catch (InsufficientMemoryException e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(names.Value.Message(e.Message))}");
            return ExitCodes.Usage; // settings too large for this machine: change them
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("uft: interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (Exception e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(Describe(e, names.Value))}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// The message and, when they add something, the messages of the inner exceptions — in the user's words, without
    /// the exception's type: the library's exceptions say what went wrong and with which file or option. An exception
    /// neither uft nor the library foresaw (a bug) keeps its type, for the report.
    /// </summary>
    private static string Describe(Exception e, SettingNames names)
    {
        if (!Foreseen(e))
        {
            return $"unexpected error: {ConsoleText.Message(e)} ({e.GetType().Name}); please report it with the command line.";
        }

        var parts = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
        {
            if (current is CheckpointMismatchException && parts.Count > 0)
            {
                continue; // the outer message already says what did not fit, without the library's C# advice
            }

            string text = names.Message(ConsoleText.Message(current));
            if (!parts.Any(p => p.Contains(text, StringComparison.Ordinal)))
            {
                parts.Add(text);
            }
        }

        return string.Join(" ← ", parts);
    }

    /// <summary>
    /// Exceptions that are part of a contract: the documented ones, and a refusal uft or the library throws on purpose
    /// (TorchDevices: "CUDA is not available"), not a null reference or an index out of range, which are bugs.
    /// </summary>
    private static bool Foreseen(Exception e) =>
        e is IOException or UnauthorizedAccessException or InvalidDataException or JsonException or ArgumentException
            or CheckpointMismatchException or UnsupervisedFinetuning.Engine.NonFiniteLossException
        || (e is InvalidOperationException or NotSupportedException
            && e.TargetSite?.DeclaringType?.Assembly is { } thrower && (thrower == typeof(Uft).Assembly || thrower == typeof(PretrainedModel).Assembly));
}
