using System.Globalization;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// How uft prints numbers, in one place so a value reads the same in every table and file: invariant culture,
/// round half away from zero, and an ASCII minus (U+2212 breaks spreadsheets and <c>grep -- -1</c>).
/// </summary>
internal static class ReportNumbers
{
    /// <summary>A fraction as percent with one decimal: 0.8985 → "89.9" (no sign, no unit).</summary>
    public static string Percent(double fraction) => Fixed(100 * fraction, 1);

    /// <summary>A difference of fractions as signed percentage points: 0.0125 → "+1.3", −0.125 → "-12.5".</summary>
    public static string SignedPoints(double fraction) => Signed(100 * fraction, 1);

    /// <summary><paramref name="value"/> with <paramref name="decimals"/> decimals, rounded half away from zero.</summary>
    public static string Fixed(double value, int decimals) =>
        double.IsFinite(value) ? Math.Round(value, decimals, MidpointRounding.AwayFromZero).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>As <see cref="Fixed"/> with a sign: "+0.012", "-0.250", "0.000".</summary>
    public static string Signed(double value, int decimals)
    {
        string text = Fixed(value, decimals);
        return text.TrimStart('-').Trim('0', '.').Length == 0 ? text.TrimStart('-') : value > 0 ? "+" + text : text;
    }
}
