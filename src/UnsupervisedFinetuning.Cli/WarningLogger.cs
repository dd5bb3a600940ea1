using Microsoft.Extensions.Logging;

namespace UnsupervisedFinetuning.Cli;

/// <summary>Warnings and errors (a skipped image, say) to the error stream; nothing else.</summary>
internal sealed class WarningLogger(TextWriter error) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            error.WriteLine($"{logLevel.ToString().ToLowerInvariant()}: {ConsoleText.Printable(formatter(state, exception))}");
        }
    }
}
