using System.Globalization;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Tuning;

/// <summary>One setting a <see cref="FinetuneSearch"/> may choose: how source images are replayed and how queries are mixed.</summary>
/// <param name="Name">A name for reports, e.g. "replay 0.25 + mixup α 1".</param>
/// <param name="Replay">The replay strategy (<see cref="NoReplay.Instance"/> for none).</param>
/// <param name="Mixing">The mixing strategy (<see cref="NoMixing.Instance"/> for none).</param>
public sealed record FinetuneCandidate(string Name, IReplaySampler Replay, IMixingStrategy Mixing)
{
    /// <summary>
    /// Every combination of a replay ratio (0 = no replay; otherwise <see cref="SparseSourceReplay"/> at that ratio with
    /// <paramref name="replay"/>'s other settings) and a mixup α (null = no mixing; otherwise <see cref="Mixup"/> with
    /// <paramref name="mixing"/>'s other settings), named "replay r + mixup α a".
    /// </summary>
    /// <param name="ratios">Replay ratios, each 0 or finite and &gt; 0.</param>
    /// <param name="mixupAlphas">Mixup α values, each null (no mixing) or finite and &gt; 0.</param>
    /// <param name="replay">Selection and composition of the replaying candidates; the defaults when null.</param>
    /// <param name="mixing">Other mixing settings; the defaults when null.</param>
    /// <exception cref="ArgumentException">A ratio or α is out of range, or a list is empty.</exception>
    public static IReadOnlyList<FinetuneCandidate> ReplayMixingGrid(IEnumerable<double> ratios, IEnumerable<double?> mixupAlphas, SparseReplayOptions? replay = null, MixingOptions? mixing = null) =>
        Grid(Mixup.Entry, ratios, mixupAlphas, replay, mixing);

    /// <summary>
    /// Every combination of a replay ratio (0 = no replay; otherwise <see cref="SparseSourceReplay"/> at that ratio with
    /// <paramref name="replay"/>'s other settings) and an α of the mixing strategy <paramref name="strategy"/> (null = no
    /// mixing; e.g. <see cref="CutMix.Entry"/>, or an entry of your own that takes <see cref="MixingOptions"/>), named
    /// "replay r + name α a".
    /// </summary>
    /// <param name="strategy">The mixing strategy of the candidates that mix; its options type must be <see cref="MixingOptions"/>.</param>
    /// <param name="ratios">Replay ratios, each 0 or finite and &gt; 0.</param>
    /// <param name="alphas">α values of the strategy's <see cref="MixingOptions.Alpha"/>, each null (no mixing) or finite and &gt; 0.</param>
    /// <param name="replay">Selection and composition of the replaying candidates; the defaults when null.</param>
    /// <param name="mixing">Other mixing settings; the defaults when null.</param>
    /// <exception cref="ArgumentException">A ratio or α is out of range, a list is empty, or the strategy does not take <see cref="MixingOptions"/>.</exception>
    public static IReadOnlyList<FinetuneCandidate> Grid(MixingEntry strategy, IEnumerable<double> ratios, IEnumerable<double?> alphas, SparseReplayOptions? replay = null, MixingOptions? mixing = null)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        if (strategy.OptionsType != typeof(MixingOptions))
        {
            throw new ArgumentException($"The mixing strategy '{strategy.Name}' takes {strategy.OptionsType?.Name ?? "no options"}; a grid over α needs one that takes MixingOptions (mixup, cutmix).", nameof(strategy));
        }

        var mixupAlphas = alphas;
        ArgumentNullException.ThrowIfNull(ratios);
        ArgumentNullException.ThrowIfNull(alphas);
        double[] r = [.. ratios];
        double?[] a = [.. mixupAlphas];
        if (r.Length == 0 || a.Length == 0)
        {
            throw new ArgumentException("The grid needs at least one replay ratio and one mixing choice.", nameof(ratios));
        }

        foreach (double ratio in r.Where(v => !(v == 0 || (double.IsFinite(v) && v > 0))))
        {
            throw new ArgumentException($"Replay ratio {ratio.ToString(CultureInfo.InvariantCulture)} is out of range; expected 0 (no replay) or a finite value > 0.", nameof(ratios));
        }

        foreach (double? alpha in a.Where(v => v is { } x && !(double.IsFinite(x) && x > 0)))
        {
            throw new ArgumentException($"{(strategy == Mixup.Entry ? "Mixup" : strategy.Name)} α {alpha!.Value.ToString(CultureInfo.InvariantCulture)} is out of range; expected null (no mixing) or a finite value > 0.", nameof(alphas));
        }

        var candidates = new List<FinetuneCandidate>();
        foreach (double? alpha in a)
        {
            foreach (double ratio in r)
            {
                IReplaySampler replaySampler = ratio == 0 ? NoReplay.Instance : new SparseSourceReplay(With(replay, ratio));
                IMixingStrategy mixingStrategy = alpha is { } value ? strategy.Create(With(mixing, value)) : NoMixing.Instance;
                string name = $"replay {ratio.ToString(CultureInfo.InvariantCulture)}" + (alpha is { } x ? $" + {strategy.Name} α {x.ToString(CultureInfo.InvariantCulture)}" : "");
                candidates.Add(new FinetuneCandidate(name, replaySampler, mixingStrategy));
            }
        }

        return candidates;
    }

    private static SparseReplayOptions With(SparseReplayOptions? options, double ratio)
    {
        var copy = options?.Clone() ?? new SparseReplayOptions();
        copy.Ratio = ratio;
        copy.Count = null;
        return copy;
    }

    private static MixingOptions With(MixingOptions? options, double alpha)
    {
        var copy = options?.Clone() ?? new MixingOptions();
        copy.Alpha = alpha;
        return copy;
    }
}
