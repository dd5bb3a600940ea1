using System.Globalization;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>
/// The monitor's part of an engine checkpoint, owned here rather than by the engine: the start features of the source
/// probe (drift is measured against them) and the best point's backbone, as named tensors beside the model's. The
/// points and counters travel in the checkpoint's header (<see cref="MonitorHistory"/>).
/// </summary>
internal static class MonitorCheckpointSection
{
    private const string StartSourceKey = "monitor.start-source";
    private const string BestPrefix = "best.";

    /// <summary>The tensors this section adds to a checkpoint (the monitor's and the best backbone's own, not copies).</summary>
    public static Dictionary<string, Tensor> Tensors(OnlineMonitor? monitor, BestBackbone best)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (monitor?.StartSourceFeatures is { } start)
        {
            tensors[StartSourceKey] = start;
        }

        foreach (var (name, tensor) in best.Weights ?? new Dictionary<string, Tensor>())
        {
            tensors[BestPrefix + name] = tensor;
        }

        return tensors;
    }

    /// <summary>
    /// Checks a checkpoint's monitor section against this run's monitor and backbone and puts it in place: the start
    /// features of the source probe move to the monitor and the best weights to <paramref name="best"/> (both removed
    /// from <paramref name="tensors"/>); anything inconsistent is refused as corrupt before it is used.
    /// </summary>
    public static void Restore(string path, IReadOnlyList<MonitorPoint>? checkpointPoints, long? bestStep, int sinceBest, long checkpointStep,
        Dictionary<string, Tensor> tensors, OnlineMonitor? monitor, BestBackbone best, Backbone backbone)
    {
        InvalidDataException Corrupt(string what) => new($"{path}: the checkpoint's monitor section is corrupt: {what}.");
        var points = checkpointPoints ?? throw Corrupt("no list of monitor points");
        if (monitor is null)
        {
            if (points.Count > 0 || tensors.Count > 0)
            {
                throw Corrupt("it holds monitor points or tensors but was written without monitoring");
            }

            return;
        }

        // A run with monitoring measures step 0 before its first step, so its checkpoint always has points.
        if (points.Count == 0 || points[0].Step != 0 || points.Zip(points.Skip(1)).Any(p => p.Second.Step <= p.First.Step) || points[^1].Step > checkpointStep)
        {
            throw Corrupt("the points do not start at step 0 and rise to at most the checkpoint's step");
        }

        if (bestStep is not { } bestAt || !points.Any(p => p.Step == bestAt) || sinceBest < 0 || sinceBest >= points.Count)
        {
            throw Corrupt($"the best step {bestStep?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} or the count since it ({sinceBest}) does not fit the points");
        }

        if (monitor.SourceImages > 0)
        {
            if (!tensors.Remove(StartSourceKey, out var start) || start.dim() != 2 || start.shape[0] != monitor.SourceImages
                || start.shape[1] != backbone.FeatureDimension || start.dtype != ScalarType.Float32)
            {
                start?.Dispose();
                throw Corrupt($"the start features of the source probe are missing or are not float32 [{monitor.SourceImages}, {backbone.FeatureDimension}]");
            }

            monitor.RestoreStart(start);
        }

        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, tensor) in backbone.state_dict())
            {
                if (!tensors.Remove(BestPrefix + name, out var saved))
                {
                    throw Corrupt($"the best backbone's '{name}' is missing");
                }

                weights[name] = saved;
                if (!saved.shape.SequenceEqual(tensor.shape) || saved.dtype != tensor.dtype)
                {
                    throw Corrupt($"the best backbone's '{name}' is {saved.dtype} [{string.Join(",", saved.shape)}], the backbone's {tensor.dtype} [{string.Join(",", tensor.shape)}]");
                }
            }

            if (tensors.Count > 0)
            {
                throw Corrupt($"unexpected tensor '{ExceptionText.Printable(tensors.Keys.First())}'");
            }
        }
        catch
        {
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }

            throw;
        }

        best.Restore(weights);
    }
}
