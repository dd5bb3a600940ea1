using System.Globalization;
using Microsoft.Extensions.Logging;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Appends every log entry to a file (one line each: time, level, category, message), and writes warnings and
/// errors to the error stream too, so that a skipped image is seen at once and kept in the run's log. Observers see
/// each entry's event and structured values (a resume, a monitor point, a skipped file) for the screen and files.
/// </summary>
internal sealed class FileLogger<T> : ILogger<T>, IDisposable
{
    private readonly StreamWriter _file;
    private readonly TextWriter _error;
    private readonly object _gate = new();
    private readonly List<Action<EventId, IReadOnlyList<KeyValuePair<string, object?>>>> _observers = [];

    public FileLogger(string path, TextWriter error)
    {
        _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        _error = error;
    }

    /// <summary>Calls <paramref name="observer"/> with every entry logged from now on (after it is written).</summary>
    public void Observe(Action<EventId, IReadOnlyList<KeyValuePair<string, object?>>> observer) => _observers.Add(observer);

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

        var values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
        foreach (var observer in _observers)
        {
            observer(eventId, values);
        }
    }

    public void Dispose() => _file.Dispose();
}
