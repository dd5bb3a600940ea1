using System.Globalization;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The number of images behind each number <c>uft evaluate</c> reports, and what a small split means: an accuracy
/// on n images moves 100/n points per image, and its 95 % interval is about ±1.96·√(p(1−p)/n) — ±13 points for
/// 87.5 % on 24 images, so a 12.5-point swing there is noise.
/// </summary>
internal sealed record EvaluationCounts
{
    /// <summary>Below this many images a split's accuracy is marked: its 95 % interval is wider than about ±8 points at 80 %.</summary>
    public const int Small = 50;

    public int? TargetBank { get; init; }

    public int? TargetValidation { get; init; }

    public int? TargetTest { get; init; }

    public int? SourceBank { get; init; }

    public int? SourceTest { get; init; }

    public required int Monitor { get; init; }

    /// <summary>How many percentage points one image of <paramref name="images"/> moves an accuracy: "4.2" for 24.</summary>
    public static string PointsPerImage(int images) => ReportNumbers.Fixed(100.0 / images, 1);

    public static EvaluationCounts Of(EvaluationData data) => new()
    {
        TargetBank = data.Sets?.TargetTrain.Count,
        TargetValidation = data.Sets?.TargetValidation?.Count,
        TargetTest = data.Sets?.TargetTest.Count,
        SourceBank = data.SourceBank?.Count,
        SourceTest = data.SourceTest?.Count,
        Monitor = data.Monitor.Count,
    };

    /// <summary>"24 images, too few" or "400 images".</summary>
    public string Describe(int? images) => images is { } n ? (n < Small ? $"{n} images, too few: see below" : $"{n} images") : "no images";

    /// <summary>
    /// One line per accuracy measured on fewer than <see cref="Small"/> images: how far one image and chance move it.
    /// </summary>
    public IEnumerable<string> SmallSplitNotes(IReadOnlyList<EvaluationResult> results)
    {
        IEnumerable<string> Note(string what, int? images, Func<EvaluationResult, double?> value)
        {
            if (images is not { } n || n >= Small || n == 0)
            {
                yield break;
            }

            var measured = results.Select(value).OfType<double>().ToList();
            if (measured.Count == 0)
            {
                yield break;
            }

            // The widest interval among the backbones: p(1−p) is largest nearest 50 %.
            double halfWidth = measured.Max(p => 1.96 * Math.Sqrt(p * (1 - p) / n)) * 100;
            yield return string.Create(CultureInfo.InvariantCulture,
                $"{what} is measured on {n} images (fewer than {Small}): one image moves it {PointsPerImage(n)} points and its 95 % interval is about ±{halfWidth:F1} points; differences smaller than that are noise. Give more labelled images for a number you can act on.");
        }

        return Note("target kNN", TargetTest, r => r.TargetKnn)
            .Concat(Note("target kNN, validation", TargetValidation, r => r.TargetKnnValidation))
            .Concat(Note("retention (source kNN)", SourceTest, r => r.SourceKnn));
    }
}
