using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The run's numbers as CSV beside <c>log.txt</c>, for a spreadsheet or pandas: <c>metrics.csv</c> one row per step
/// (loss, learning rate, throughput) and <c>monitor.csv</c> one row per monitor point (the label-free signals, the
/// criterion's score). Rows are appended and flushed as they come, so a killed run keeps them; a resume first drops
/// the rows after the checkpoint's step (they are trained again), so each step appears once.
/// </summary>
/// <remarks>No TensorBoard event file: no served NuGet package writes one (the format is TFRecord-framed protobuf),
/// and the CSVs load in one line of pandas or TensorBoard's own CSV-importing tools.</remarks>
internal sealed class MetricsFiles : IDisposable
{
    public const string StepsFile = "metrics.csv";
    public const string MonitorFile = "monitor.csv";
    private const string StepsHeader = "step,total_steps,epoch,loss,learning_rate,images_per_second,elapsed_seconds,time_utc";
    private const string MonitorHeader = "step,rankme,uniformity,alignment,source_cka,source_neighbours_kept,validation_knn,score,best_step,seconds";

    private readonly string _stepsPath;
    private readonly string _monitorPath;
    private readonly object _gate = new();
    private StreamWriter? _steps;
    private StreamWriter? _monitor;

    /// <summary>Starts the files in <paramref name="folder"/>: new (replacing any) for a fresh run, appended to on a resume.</summary>
    public MetricsFiles(string folder, bool resume)
    {
        _stepsPath = Path.Combine(folder, StepsFile);
        _monitorPath = Path.Combine(folder, MonitorFile);
        if (!resume)
        {
            _steps = Start(_stepsPath, StepsHeader, keepAfter: null);
            _monitor = Start(_monitorPath, MonitorHeader, keepAfter: null);
        }
    }

    /// <summary>Books one log event: a resume (event 2005) trims the files to its step; a monitor point (2008) is a row.</summary>
    public void Observe(EventId id, IReadOnlyList<KeyValuePair<string, object?>> values)
    {
        lock (_gate)
        {
            if (id.Id == 2005 && LogValues.Get(values, "Step") is long resumedAt)
            {
                _steps?.Dispose();
                _monitor?.Dispose();
                _steps = Start(_stepsPath, StepsHeader, keepAfter: resumedAt);
                _monitor = Start(_monitorPath, MonitorHeader, keepAfter: resumedAt);
            }
            else if (id.Id == 2008 && _monitor is not null)
            {
                _monitor.WriteLine(string.Join(',', new[] { "Step", "RankMe", "Uniformity", "Alignment", "SourceCka", "SourceNeighbourhoods", "ValidationKnn", "Score", "BestStep", "Seconds" }
                    .Select(name => Cell(LogValues.Get(values, name)))));
            }
        }
    }

    /// <summary>Appends the step's row.</summary>
    public void Step(FinetuneProgress p)
    {
        lock (_gate)
        {
            _steps?.WriteLine(string.Join(',', Cell(p.Step), Cell(p.TotalSteps), Cell(p.Epoch), Cell(p.Loss), Cell(p.LearningRate), Cell(p.ImagesPerSecond),
                Cell(p.Elapsed.TotalSeconds), DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _steps?.Dispose();
            _monitor?.Dispose();
        }
    }

    /// <summary>
    /// Opens a CSV for appending: with <paramref name="keepAfter"/>, first rewrites it (atomically) without the rows of
    /// later steps; a missing or header-less file starts with the header.
    /// </summary>
    private static StreamWriter Start(string path, string header, long? keepAfter)
    {
        if (keepAfter is { } step && File.Exists(path))
        {
            var kept = File.ReadLines(path).Skip(1).Where(line => long.TryParse(line.AsSpan(0, Math.Max(0, line.IndexOf(','))), NumberStyles.None, CultureInfo.InvariantCulture, out long s) && s <= step);
            string temporary = path + ".tmp";
            File.WriteAllLines(temporary, kept.Prepend(header).ToList());
            File.Move(temporary, path, overwrite: true);
        }
        else
        {
            File.WriteAllText(path, header + "\n");
        }

        return new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    /// <summary>A CSV cell: numbers round-trip in the invariant culture (ASCII minus), absent values are empty.</summary>
    private static string Cell(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
