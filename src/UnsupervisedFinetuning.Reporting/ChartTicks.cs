using ScottPlot.TickGenerators;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Reporting;

/// <summary>
/// Tick marks both charts share: a round interval (1, 2, 2.5 or 5 × a power of ten) that puts about as many ticks on
/// every axis, each label with the interval's decimals ("-0.60", "-0.80", "-1.00", not "-0.6", "-0.8", "-1") and an ASCII
/// minus whatever the current culture (<see cref="ReportFormat.Number"/>).
/// </summary>
internal static class ChartTicks
{
    private static readonly double[] Mantissas = [1, 2, 2.5, 5, 10];

    /// <summary>The round interval nearest (by ratio) to <paramref name="span"/> / <paramref name="ticks"/>: between ~0.7× and ~1.4× that many ticks.</summary>
    public static double Interval(double span, int ticks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ticks, 1);
        double raw = span > 0 && double.IsFinite(span) ? span / ticks : 1;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        return Mantissas.Select(m => m * power).MinBy(step => Math.Abs(Math.Log(step / raw)));
    }

    /// <summary>Ticks every <see cref="Interval"/> over <paramref name="span"/>, labelled with that interval's decimals.</summary>
    public static NumericFixedInterval Generator(double span, int ticks)
    {
        double interval = Interval(span, ticks);
        int decimals = Enumerable.Range(0, 10).First(d => Math.Abs((interval * Math.Pow(10, d)) - Math.Round(interval * Math.Pow(10, d))) < 1e-9);
        return new NumericFixedInterval(interval) { LabelFormatter = value => ReportFormat.Number(value, decimals) };
    }
}
