using System.Globalization;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>
/// How reports write numbers, in one place, so a value reads the same on screen and in every file: accuracies in
/// percentage points with one decimal, other metrics with three; rounded half away from zero on the number's
/// 15 significant digits (a kNN accuracy of 1797/2000 is 89.85 %, stored as 89.8499999…, and prints as 89.9);
/// the invariant culture with an ASCII '-' whatever the current culture, so the text pastes into a spreadsheet
/// as a number; and no negative zero ("-0.0" prints as "0.0").
/// </summary>
public static class ReportFormat
{
    /// <summary>Decimals of an accuracy, in percentage points.</summary>
    public const int AccuracyDecimals = 1;

    /// <summary>Decimals of a metric that is not an accuracy.</summary>
    public const int OtherDecimals = 3;

    /// <summary>
    /// <paramref name="value"/> with <paramref name="decimals"/> decimals: "89.9", "-1.603", with <paramref name="signed"/>
    /// "+1.1" (zero stays unsigned: "0.0"). Not finite: "NaN", "Infinity", "-Infinity".
    /// </summary>
    /// <param name="value">The number, already in the unit to show.</param>
    /// <param name="decimals">Decimals to keep, 0 to 10.</param>
    /// <param name="signed">Prefix a positive value with '+' (differences).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="decimals"/> is outside 0 to 10.</exception>
    public static string Number(double value, int decimals, bool signed = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(decimals, 10);
        if (!double.IsFinite(value) || Math.Abs(value) >= 1e15)
        {
            // Beyond decimal's exact range for 15 digits: the round-trip form (not a measurement a report rounds).
            string raw = value.ToString(CultureInfo.InvariantCulture);
            return signed && value > 0 ? "+" + raw : raw;
        }

        // decimal keeps the double's 15 significant digits, so the rounding sees 89.85, not 89.8499999….
        decimal rounded = Math.Round((decimal)value, decimals, MidpointRounding.AwayFromZero);
        if (rounded == 0)
        {
            rounded = 0m;
        }

        string text = rounded.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return signed && rounded > 0 ? "+" + text : text;
    }

    /// <summary>
    /// A value of <paramref name="metric"/> as reports show it: an accuracy (<see cref="TransferMetrics.IsAccuracy"/>, a
    /// fraction) in percentage points with <see cref="AccuracyDecimals"/> decimals ("89.9"), anything else as it is with
    /// <see cref="OtherDecimals"/> ("-1.603").
    /// </summary>
    /// <param name="value">The value in the metric's own unit (a fraction for accuracies).</param>
    /// <param name="metric">The metric's name.</param>
    /// <param name="signed">Prefix a positive value with '+' (differences).</param>
    public static string Value(double value, string metric, bool signed = false)
    {
        bool accuracy = TransferMetrics.IsAccuracy(metric);
        return Number(accuracy ? value * 100 : value, accuracy ? AccuracyDecimals : OtherDecimals, signed);
    }

    /// <summary>
    /// Mean ± sample std over seeds as <see cref="Value"/> writes each ("89.9 ± 0.6"; the mean alone for one seed); "–"
    /// when nothing was measured.
    /// </summary>
    /// <param name="summary">The summary (<see cref="TransferReport.Summarize"/> or <see cref="TransferReport.PairedDifference"/>).</param>
    /// <param name="metric">The metric's name.</param>
    /// <param name="signed">Prefix a positive mean with '+' (paired differences); the std is never signed.</param>
    public static string MeanStd(Summary summary, string metric, bool signed = false)
    {
        if (summary.Count == 0)
        {
            return "–";
        }

        string mean = Value(summary.Mean, metric, signed);
        return double.IsNaN(summary.Std) ? mean : $"{mean} ± {Value(summary.Std, metric)}";
    }
}
