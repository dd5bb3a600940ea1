using System.Globalization;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// What <c>uft finetune</c> shows while it trains. On an interactive terminal a progress bar, with a line above it
/// for the resume and each monitor point; otherwise (a pipe, a log file, CI) one progress line every 5 % of the
/// run and at least every 30 seconds, the last step's line always, and the same resume and monitor lines. The
/// resume and monitor lines come from the engine's log events, so the step-0 baseline point shows too.
/// </summary>
internal static class RunScreen
{
    public static T Show<T>(IAnsiConsole console, FileLogger<FinetuneEngine> logger, Func<IProgress<FinetuneProgress>, T> run)
    {
        int? validationImages = null;
        Action<string>? write = null;
        logger.Observe((id, values) =>
        {
            if (id.Id == 2009)
            {
                validationImages = LogValues.Get(values, "ValidationImages") as int?;
            }

            if (write is not null && Line(id, values, validationImages) is { } line)
            {
                write(line);
            }
        });

        if (console.Profile.Capabilities.Interactive)
        {
            return console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask("finetune");
                    write = line =>
                    {
                        console.WriteLine(line); // printed above the live bar
                        context.Refresh();
                    };
                    return run(new SynchronousProgress<FinetuneProgress>(p =>
                    {
                        task.MaxValue = p.TotalSteps;
                        task.Value = p.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.TotalSteps}  loss {p.Loss:F3}  {p.ImagesPerSecond:F0} img/s");
                    }));
                });
        }

        write = console.WriteLine;
        long lastPrinted = 0;
        FinetuneProgress? latest = null;
        var sinceLine = System.Diagnostics.Stopwatch.StartNew();
        var result = run(new SynchronousProgress<FinetuneProgress>(p =>
        {
            latest = p;
            long every = Math.Max(1, p.TotalSteps / 20);
            if (p.Step == p.TotalSteps || p.Step - lastPrinted >= every || sinceLine.Elapsed.TotalSeconds >= 30)
            {
                lastPrinted = p.Step;
                sinceLine.Restart();
                console.WriteLine(ProgressLine(p));
            }
        }));
        if (latest is { } final && final.Step != lastPrinted)
        {
            console.WriteLine(ProgressLine(final)); // a run that stopped early ends on its last step, not on the last 5 % line
        }

        return result;
    }

    /// <summary>One progress line: "step 40/400 (10 %)  loss …  lr …  img/s  eta".</summary>
    internal static string ProgressLine(FinetuneProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"step {p.Step}/{p.TotalSteps} ({100.0 * p.Step / Math.Max(1, p.TotalSteps):F0} %)  loss {p.Loss:F4}  lr {p.LearningRate:G3}  {p.ImagesPerSecond:F0} img/s  eta {p.Eta:hh\\:mm\\:ss}");

    /// <summary>The screen line of a log event, or null for events the screen does not show.</summary>
    internal static string? Line(EventId id, IReadOnlyList<KeyValuePair<string, object?>> values, int? validationImages) => id.Id switch
    {
        2005 => $"resumed {ConsoleText.Printable(LogValues.Get(values, "Path") as string ?? "")} after step {LogValues.Get(values, "Step")}",
        2008 => MonitorLine(values, validationImages),
        _ => null,
    };

    /// <summary>One monitor point as a line: the signals measured, the validation kNN with its image count.</summary>
    private static string MonitorLine(IReadOnlyList<KeyValuePair<string, object?>> values, int? validationImages)
    {
        var text = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"monitor step {LogValues.Get(values, "Step")}: RankMe {ReportNumbers.Fixed(Number(values, "RankMe") ?? double.NaN, 1)}  uniformity {ReportNumbers.Fixed(Number(values, "Uniformity") ?? double.NaN, 3)}"));
        if (Number(values, "Alignment") is { } alignment)
        {
            text.Append($"  alignment {ReportNumbers.Fixed(alignment, 3)}");
        }

        if (Number(values, "SourceCka") is { } cka)
        {
            text.Append($"  source CKA {ReportNumbers.Fixed(cka, 3)}");
        }

        if (Number(values, "SourceNeighbourhoods") is { } kept)
        {
            text.Append($"  neighbours kept {ReportNumbers.Fixed(kept, 3)}");
        }

        if (Number(values, "ValidationKnn") is { } knn)
        {
            text.Append($"  validation kNN {ReportNumbers.Percent(knn)} %");
            if (validationImages is { } n)
            {
                text.Append(CultureInfo.InvariantCulture, $" of {n} images{(n < EvaluationCounts.Small ? " (too few: one image is " + EvaluationCounts.PointsPerImage(n) + " points)" : "")}");
            }
        }

        return text.ToString();
    }

    private static double? Number(IReadOnlyList<KeyValuePair<string, object?>> values, string name) => LogValues.Get(values, name) switch
    {
        double d => d,
        float f => f,
        _ => null,
    };
}
