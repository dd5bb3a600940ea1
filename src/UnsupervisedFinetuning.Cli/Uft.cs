using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace UnsupervisedFinetuning.Cli;

/// <summary>The <c>uft</c> command line: finetune, evaluate, embed, search.</summary>
internal static class Uft
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code (<see cref="ExitCodes"/>).</summary>
    /// <param name="args">The arguments after <c>uft</c>.</param>
    /// <param name="console">Where results, tables and progress go.</param>
    /// <param name="error">Where errors go.</param>
    /// <param name="stop">Cancelled by Ctrl+C: commands stop at the next safe point.</param>
    public static int Run(string[] args, IAnsiConsole console, TextWriter error, CancellationToken stop)
    {
        var root = new RootCommand("uft — unsupervised finetuning of vision backbones: finetune with sparse source replay and data mixing, evaluate, embed.")
        {
            FinetuneCommand.Create(console, stop),
            EvaluateCommand.Create(console, stop),
            EmbedCommand.Create(console, stop),
            SearchCommand.Create(console, stop),
        };
        ParseErrors.UseInvariantNumbers(root);
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

        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = console.Profile.Out.Writer, Error = error });
        }
        catch (UsageException e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(e.Message)}");
            return ExitCodes.Usage;
        }
        catch (OptionsValidationException e)
        {
            error.WriteLine($"uft: invalid settings: {ConsoleText.Printable(string.Join(" ", e.Failures))}");
            return ExitCodes.Usage;
        }
        catch (UnsupervisedFinetuning.Engine.RunFolderInUseException e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(e.Message)}"); // names the holder; the operating system's refusal adds nothing
            return ExitCodes.Failure;
        }
        catch (InsufficientMemoryException e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(e.Message)}");
            return ExitCodes.Usage; // settings too large for this machine: change them
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("uft: interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (Exception e)
        {
            error.WriteLine($"uft: {ConsoleText.Printable(Describe(e))}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>The message and, when they add something, the messages of the inner exceptions.</summary>
    private static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
        {
            if (!parts.Any(p => p.Contains(current.Message, StringComparison.Ordinal)))
            {
                parts.Add(current is JsonException or IOException or InvalidDataException or ArgumentException or FileNotFoundException or UnauthorizedAccessException
                    ? current.Message
                    : $"{current.GetType().Name}: {current.Message}");
            }
        }

        return string.Join(" ← ", parts);
    }
}
