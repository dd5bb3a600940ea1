using System.Text.Json;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// A report.json (<see cref="TransferReport.ToJson"/>) read back into a <see cref="TransferReport"/> — title, reference
/// arm, notes, measurements and monitor histories — so --render-only can redraw the charts and rewrite the report files
/// with the current code, without the experiment. Written again, the JSON and CSV files come out as they were read.
/// What the JSON does not keep (the drift probe's image and neighbour counts) reads as 0; nothing a report writes uses it.
/// </summary>
internal static class SavedReport
{
    /// <exception cref="InvalidDataException">The file is not a report written by <see cref="TransferReport.ToJson"/>.</exception>
    public static TransferReport Read(string path)
    {
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = json.RootElement;
            var measurements = root.GetProperty("measurements").EnumerateArray()
                .Select(m => new TransferMeasurement(Text(m, "arm"), m.GetProperty("seed").GetInt64(), Text(m, "metric"), m.GetProperty("value").GetDouble()));
            var report = new TransferReport(measurements, Text(root, "reference"), Text(root, "title"));
            foreach (var note in root.GetProperty("notes").EnumerateArray())
            {
                report.Notes.Add(note.GetString() ?? "");
            }

            if (root.TryGetProperty("monitoring", out var monitoring))
            {
                foreach (var run in monitoring.EnumerateArray())
                {
                    var selected = run.GetProperty("selectedStep");
                    report.Monitoring.Add(new MonitorTrace(Text(run, "arm"), run.GetProperty("seed").GetInt64(), [.. run.GetProperty("points").EnumerateArray().Select(Point)],
                        selected.ValueKind == JsonValueKind.Null ? null : selected.GetInt64()));
                }
            }

            return report;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a report.json written by the Quickstart ({e.Message}).", e);
        }
    }

    private static MonitorPoint Point(JsonElement point)
    {
        // A signal the run did not measure is absent; one that was not finite (e.g. RankMe of collapsed features) is null.
        var signals = point.GetProperty("signals").EnumerateObject().ToDictionary(s => s.Name, s => Number(s.Value));
        double? Signal(string name) => signals.TryGetValue(name, out double value) ? value : null;
        return new MonitorPoint
        {
            Step = point.GetProperty("step").GetInt64(),
            Target = new LabelFreeMonitors(Signal(TransferMetrics.RankMe) ?? double.NaN, Signal(TransferMetrics.Uniformity) ?? double.NaN, Signal(TransferMetrics.Alignment)),
            SourceDrift = Signal(TransferMetrics.SourceCka) is double cka ? new DriftMeasurement(cka, Signal(TransferMetrics.SourceNeighbourhoods) ?? double.NaN, 0, 0) : null,
            ValidationKnn = Signal(TransferReport.ValidationKnnSignal),
            Score = Number(point.GetProperty("score")),
            Seconds = point.GetProperty("seconds").GetDouble(),
        };
    }

    private static double Number(JsonElement value) => value.ValueKind == JsonValueKind.Null ? double.NaN : value.GetDouble();

    private static string Text(JsonElement element, string name) =>
        element.GetProperty(name).GetString() ?? throw new InvalidDataException($"'{name}' is null.");
}
