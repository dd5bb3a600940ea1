using static TorchSharp.torch;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>
/// The best point of a run so far by the criterion, with a CPU copy of the backbone's weights and buffers at that
/// point, and the patience count for early stopping. Its counters live in <see cref="MonitorHistory"/> so that a
/// checkpoint carries them; the weights are checkpointed as named tensors.
/// </summary>
internal sealed class BestBackbone : IDisposable
{
    private Dictionary<string, Tensor>? _weights;

    /// <summary>The best weights, by state-dict name (CPU); null before the first point.</summary>
    public IReadOnlyDictionary<string, Tensor>? Weights => _weights;

    /// <summary>The criterion's score, higher is better; NaN counts as worse than any number.</summary>
    public static Func<MonitorPoint, double> Scorer(MonitoringOptions options) => options.Criterion switch
    {
        MonitorCriterion.RankMe => p => p.Target.RankMe,
        MonitorCriterion.Uniformity => p => -p.Target.Uniformity,
        MonitorCriterion.Alignment => p => -(p.Target.Alignment ?? double.NaN),
        MonitorCriterion.SourceCka => p => p.SourceDrift?.LinearCka ?? double.NaN,
        MonitorCriterion.SourceNeighbourhoods => p => p.SourceDrift?.NeighbourhoodPreservation ?? double.NaN,
        MonitorCriterion.ValidationKnn => p => p.ValidationKnn ?? double.NaN,
        MonitorCriterion.Custom => options.CustomScore!,
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Criterion, "Unknown criterion."),
    };

    /// <summary>Books a new point: a new best copies the weights and resets the patience count.</summary>
    /// <returns>Whether the point is the new best.</returns>
    public bool Offer(MonitorHistory history, MonitorPoint point, nn.Module backbone, double minImprovement)
    {
        bool better = history.BestStep is null
            || (double.IsNaN(history.BestScore) && !double.IsNaN(point.Score))
            || point.Score > history.BestScore + minImprovement;
        if (!better)
        {
            history.SinceBest++;
            return false;
        }

        history.BestStep = point.Step;
        history.BestScore = point.Score;
        history.SinceBest = 0;
        using (var scope = NewDisposeScope())
        {
            // One CPU copy per tensor: .cpu() copies a device tensor already; a CPU tensor needs a clone.
            Replace(backbone.state_dict().ToDictionary(kv => kv.Key, kv => (kv.Value.device_type == TorchSharp.DeviceType.CPU ? kv.Value.detach().clone() : kv.Value.detach().cpu()).DetachFromDisposeScope(), StringComparer.Ordinal));
        }

        return true;
    }

    /// <summary>Takes the weights read from a checkpoint; this object owns them from here on.</summary>
    public void Restore(Dictionary<string, Tensor> weights) => Replace(weights);

    /// <summary>Hands the weights over (the caller disposes them); this object forgets them.</summary>
    public Dictionary<string, Tensor>? Detach()
    {
        var weights = _weights;
        _weights = null;
        return weights;
    }

    public void Dispose() => Replace(null);

    private void Replace(Dictionary<string, Tensor>? weights)
    {
        foreach (var tensor in _weights?.Values ?? Enumerable.Empty<Tensor>())
        {
            tensor.Dispose();
        }

        foreach (var tensor in weights?.Values ?? Enumerable.Empty<Tensor>())
        {
            tensor.DetachFromDisposeScope();
        }

        _weights = weights;
    }
}
