using System.Globalization;
using Microsoft.Extensions.Logging;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Appends every log entry to a file (one line each: time, level, category, message), and writes warnings and
/// errors to the error stream too, so that a skipped image is seen at once and kept in the run's log.
/// </summary>
internal sealed class FileLogger<T> : ILogger<T>, IDisposable
{
    private readonly StreamWriter _file;
    private readonly TextWriter _error;
    private readonly object _gate = new();

    public FileLogger(string path, TextWriter error)
    {
        _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        _error = error;
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        string message = ConsoleText.Printable(formatter(state, exception)); // one line per entry, nothing that drives a terminal
        lock (_gate)
        {
            _file.WriteLine($"{DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss.fff zzz", CultureInfo.InvariantCulture)} {logLevel,-11} {typeof(T).Name}: {message}");
            if (logLevel >= LogLevel.Warning)
            {
                _error.WriteLine($"{logLevel.ToString().ToLowerInvariant()}: {message}");
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
