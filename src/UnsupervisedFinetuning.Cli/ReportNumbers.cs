using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// How uft prints numbers: through the library's <see cref="ReportFormat"/>, so a value reads the same on uft's
/// screens, in the Quickstart's reports and in every file (invariant culture, half away from zero, ASCII minus).
/// </summary>
internal static class ReportNumbers
{
    /// <summary>A fraction as percent with one decimal: 0.8985 → "89.9" (no sign, no unit).</summary>
    public static string Percent(double fraction) => ReportFormat.Number(100 * fraction, ReportFormat.AccuracyDecimals);

    /// <summary>A difference of fractions as signed percentage points: 0.0125 → "+1.3", −0.125 → "-12.5".</summary>
    public static string SignedPoints(double fraction) => ReportFormat.Number(100 * fraction, ReportFormat.AccuracyDecimals, signed: true);

    /// <summary><paramref name="value"/> with <paramref name="decimals"/> decimals.</summary>
    public static string Fixed(double value, int decimals) => ReportFormat.Number(value, decimals);

    /// <summary>As <see cref="Fixed"/> with a sign: "+0.012", "-0.250", "0.000".</summary>
    public static string Signed(double value, int decimals) => ReportFormat.Number(value, decimals, signed: true);
}
