using ScottPlot;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Reporting;

/// <summary>
/// One colour per arm for every chart of a report: the report's arms in their order (<see cref="TransferReport.Arms"/>,
/// then arms that only have monitor histories) take the palette's colours in turn — Category10 for up to ten arms,
/// Category20 beyond. Taken from the whole report rather than from what one chart draws, so "naive UFT" keeps its
/// colour in the trade-off chart (which shows "pretrained only") and in the monitor chart (which does not).
/// </summary>
internal static class ArmColors
{
    public static IReadOnlyDictionary<string, Color> For(TransferReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var arms = report.Arms.Concat(report.Monitoring.Select(t => t.Arm)).Distinct().ToList();
        IPalette palette = arms.Count <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        return arms.Select((arm, i) => (arm, i)).ToDictionary(a => a.arm, a => palette.GetColor(a.i));
    }
}
