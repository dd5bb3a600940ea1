using System.Diagnostics;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>Accumulates wall time per named phase of a step, in the order phases first appear.</summary>
internal sealed class PhaseTimes
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, long> _ticks = [];
    private long _last;

    public void Start() => _last = Stopwatch.GetTimestamp();

    public void Mark(string phase)
    {
        long now = Stopwatch.GetTimestamp();
        if (!_ticks.ContainsKey(phase))
        {
            _order.Add(phase);
            _ticks[phase] = 0;
        }

        _ticks[phase] += now - _last;
        _last = now;
    }

    public void Clear()
    {
        _order.Clear();
        _ticks.Clear();
    }

    /// <summary>Phases with their mean milliseconds over <paramref name="steps"/> steps.</summary>
    public IEnumerable<(string Phase, double Milliseconds)> PerStep(int steps) =>
        _order.Select(p => (p, _ticks[p] * 1000.0 / Stopwatch.Frequency / steps));
}
