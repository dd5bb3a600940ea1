using System.Globalization;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// What a run is, as a resume compares it: every setting that changes the trajectory (engine, method, replay, mixing,
/// augmentation, precision, monitoring) and, when a checkpoint is written or read, a hash of the target's and the
/// source's content. A checkpoint stores it; a resume computes it again and refuses any difference, naming it.
/// </summary>
internal static class RunFingerprint
{
    private const string TargetContentKey = "TargetContent";
    private const string SourceContentKey = "SourceContent";

    /// <summary>The fingerprint of a run about to start or resume.</summary>
    public static Dictionary<string, string> Of(FinetuneOptions options, ISelfSupervisedMethod method, IReplaySampler replay, IMixingStrategy mixing,
        AugmentationOptions? augmentation, FinetuneRequest request, int replayCount, long totalSteps, int size, ComputePrecision precision, Device device, bool withContent)
    {
        var fingerprint = Settings(options, method, replay, mixing, augmentation, request.Target, replayCount, totalSteps, size);
        fingerprint["Precision"] = precision.ToString();
        AddMonitoring(fingerprint, request, options, totalSteps, device);
        if (withContent)
        {
            // What the images are, not only how many: a resume on other images of the same count and shape would
            // silently continue a run on data it was not started with.
            fingerprint[TargetContentKey] = DatasetContent.Fingerprint(request.Target) ?? UnknownContent(request.Target);
            if (request.Source is { } source)
            {
                fingerprint[SourceContentKey] = DatasetContent.Fingerprint(source) ?? UnknownContent(source);
            }
        }

        return fingerprint;
    }

    /// <summary>
    /// Fills in what a checkpoint of an older version did not store, as that version ran: no content hash (counts and
    /// shapes only), float32 compute and monitoring.
    /// </summary>
    public static void CompleteStored(Dictionary<string, string> stored, Dictionary<string, string> current)
    {
        foreach (string key in new[] { TargetContentKey, SourceContentKey })
        {
            if (current.TryGetValue(key, out var content))
            {
                stored.TryAdd(key, content);
            }
        }

        stored.TryAdd("Precision", nameof(ComputePrecision.Float32));
        if (stored.TryGetValue("Monitoring.Enabled", out var monitored) && monitored == "true")
        {
            stored.TryAdd("Monitoring.Precision", nameof(ComputePrecision.Float32));
        }
    }

    /// <summary>
    /// With <see cref="FinetuneRequest.ExtendSchedule"/> and a larger total than the checkpoint's: the checkpoint's
    /// total (and its automatic monitor interval, which follows from the total) are taken as the new ones before the
    /// fingerprints are compared; returns the checkpoint's total. Null when nothing is extended.
    /// </summary>
    public static long? Extension(FinetuneRequest request, FinetuneOptions options, EngineCheckpoint.Header header, Dictionary<string, string> current, long totalSteps)
    {
        if (!request.ExtendSchedule || !header.Fingerprint.TryGetValue("TotalSteps", out var stored)
            || !long.TryParse(stored, NumberStyles.None, CultureInfo.InvariantCulture, out long previous) || totalSteps <= previous)
        {
            return null; // not asked, or not longer: the comparison below refuses a shorter total
        }

        header.Fingerprint["TotalSteps"] = current["TotalSteps"];
        if (options.Monitoring.Enabled && options.Monitoring.EverySteps is null && current.TryGetValue("Monitoring.Interval", out var interval))
        {
            header.Fingerprint["Monitoring.Interval"] = interval;
        }

        return previous;
    }

    public static void Check(string path, Dictionary<string, string> stored, Dictionary<string, string> current)
    {
        foreach (string key in current.Keys.Union(stored.Keys))
        {
            stored.TryGetValue(key, out var old);
            current.TryGetValue(key, out var now);
            if (old != now)
            {
                if (key is TargetContentKey or SourceContentKey && old is not null && now is not null)
                {
                    string which = key == TargetContentKey ? "target" : "source";
                    throw new InvalidDataException($"{path}: the {which} images differ from those the run was started with (same count and shape, other content: " +
                        $"SHA-256 {old[..Math.Min(12, old.Length)]}… then, {now[..Math.Min(12, now.Length)]}… now; for files, their names, sizes and modification times); resume with the same {which} images.");
                }

                string advice = key == "TotalSteps"
                    ? " A run can be given more steps when it is resumed (FinetuneRequest.ExtendSchedule), never fewer."
                    : "";
                throw new InvalidDataException($"{path}: the checkpoint was written with {key} = {old ?? "(absent)"} but this run has {key} = {now ?? "(absent)"}; resume with the same options and data.{advice}");
            }
        }
    }

    private static Dictionary<string, string> Settings(FinetuneOptions options, ISelfSupervisedMethod method, IReplaySampler replay, IMixingStrategy mixing,
        AugmentationOptions? augmentation, IImageDataset target, int replayCount, long totalSteps, int size)
    {
        static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);
        var fingerprint = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Method"] = method.Name,
            ["Replay"] = replay.Name,
            ["Mixing"] = mixing.Name,
            ["TargetCount"] = Integer(target.Count),
            ["TargetShape"] = target.Shape.ToString(),
            ["ReplayCount"] = Integer(replayCount),
            ["TotalSteps"] = Integer(totalSteps),
            ["BatchSize"] = Integer(options.BatchSize),
            ["Seed"] = Integer(options.Seed),
            ["Optimizer"] = options.Optimizer.ToString(),
            // Numbers that change the trajectory: a resume with any of them changed would no longer continue
            // the run it claims to continue ("R" round-trips doubles exactly).
            ["LearningRate"] = Number(options.LearningRate),
            ["MinLearningRate"] = Number(options.MinLearningRate),
            ["WarmupFraction"] = Number(options.WarmupFraction),
            ["OptimizerMomentum"] = Number(options.OptimizerMomentum),
            ["WeightDecay"] = Number(options.WeightDecay),
            ["LarsTrustCoefficient"] = Number(options.LarsTrustCoefficient),
            ["MixingCompute"] = options.MixingCompute.ToString(),
            ["ImageSize"] = Integer(size),
            ["Augmentation"] = augmentation is null ? "custom" : "options",
        };
        void Add(string prefix, IReadOnlyDictionary<string, string> settings)
        {
            foreach (var (key, value) in settings)
            {
                fingerprint[$"{prefix}.{key}"] = value;
            }
        }

        Add("Method", method.Settings);
        Add("Replay", replay.Settings);
        Add("Mixing", mixing.Settings);
        if (augmentation is not null)
        {
            Add("Augmentation", StrategySettings.Of(augmentation));
        }

        return fingerprint;
    }

    /// <summary>Monitoring settings that decide when points are measured and when the run stops: a resume must keep them.</summary>
    private static void AddMonitoring(Dictionary<string, string> fingerprint, FinetuneRequest request, FinetuneOptions options, long totalSteps, Device device)
    {
        var monitoring = options.Monitoring;
        fingerprint["Monitoring.Enabled"] = monitoring.Enabled ? "true" : "false";
        if (!monitoring.Enabled)
        {
            return;
        }

        static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);
        fingerprint["Monitoring.Interval"] = Integer(OnlineMonitor.PlannedInterval(request.ForMonitor(), monitoring, options.BatchSize, totalSteps));
        fingerprint["Monitoring.ImagesPerPoint"] = Integer(OnlineMonitor.PlannedImagesPerPoint(request.ForMonitor(), monitoring));
        fingerprint["Monitoring.ProbeImages"] = Integer(monitoring.ProbeImages);
        fingerprint["Monitoring.Alignment"] = monitoring.Alignment ? "true" : "false";
        fingerprint["Monitoring.Neighbours"] = Integer(monitoring.Neighbours);
        fingerprint["Monitoring.Criterion"] = monitoring.Criterion.ToString();
        fingerprint["Monitoring.Patience"] = monitoring.Patience is { } patience ? Integer(patience) : "none";
        fingerprint["Monitoring.MinImprovement"] = monitoring.MinImprovement.ToString("R", CultureInfo.InvariantCulture);
        fingerprint["Monitoring.Precision"] = ComputePrecisions.Resolve(monitoring.Precision, device).ToString(); // monitor scores choose the kept step
    }

    private static string UnknownContent(IImageDataset data) => $"not fingerprinted ({data.GetType().Name})";
}
