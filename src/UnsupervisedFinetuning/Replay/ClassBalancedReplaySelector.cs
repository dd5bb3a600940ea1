using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Replays an equal number of images from every source class, uniformly at random within a class. When |S| is
/// not a multiple of the class count, the extra images go to classes drawn with the run's seed; a class with
/// fewer images than its share gives all of them and the rest is shared among the others. Needs the source
/// set's labels: pass an <see cref="ILabeledImageDataset"/> (not <c>.WithoutLabels()</c>) as the source. The
/// labels choose the subset and nothing else.
/// </summary>
public sealed class ClassBalancedReplaySelector : IReplaySelector
{
    /// <summary>The shared instance.</summary>
    public static ClassBalancedReplaySelector Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "class-balanced";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The source set has no labels.</exception>
    public int[] Select(ReplaySelectionContext context, int count)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Source is not ILabeledImageDataset labeled)
        {
            throw new ArgumentException(
                $"Class-balanced replay selection needs the source set's labels, but the source is a {context.Source?.GetType().Name ?? "missing set"}: pass an ILabeledImageDataset (not .WithoutLabels()) as FinetuneRequest.Source.",
                nameof(context));
        }

        var members = new List<int>[labeled.ClassCount];
        for (int c = 0; c < members.Length; c++)
        {
            members[c] = [];
        }

        for (int i = 0; i < labeled.Count; i++)
        {
            int label = labeled.GetLabel(i);
            if ((uint)label >= (uint)members.Length)
            {
                throw new ArgumentException($"Source image {i} has label {label}; the source set declares {members.Length} classes, so labels must be 0 to {members.Length - 1}.", nameof(context));
            }

            members[label].Add(i);
        }

        int[] quota = Quotas(members.Select(m => m.Count).ToArray(), count, context.Random);
        var chosen = new List<int>(count);
        for (int c = 0; c < members.Length; c++)
        {
            int[] order = context.Random.Permutation(members[c].Count);
            chosen.AddRange(order.Take(quota[c]).Select(k => members[c][k]));
        }

        return [.. chosen];
    }

    /// <summary>Images per class: equal shares, capped by what each class holds; leftovers to seeded classes.</summary>
    internal static int[] Quotas(int[] available, int count, SeededRandom random)
    {
        var quota = new int[available.Length];
        int left = count;
        while (left > 0)
        {
            int[] open = Enumerable.Range(0, available.Length).Where(c => quota[c] < available[c]).ToArray();
            if (open.Length == 0)
            {
                throw new ArgumentOutOfRangeException(nameof(count), count, $"The source classes hold {available.Sum()} images; cannot choose {count}.");
            }

            int share = left / open.Length;
            if (share == 0)
            {
                // Fewer images left than open classes: one more each for `left` classes drawn with the seed.
                random.Shuffle(open.AsSpan());
                open = open[..left];
                share = 1;
            }

            foreach (int c in open)
            {
                int add = Math.Min(share, available[c] - quota[c]);
                quota[c] += add;
                left -= add;
            }
        }

        return quota;
    }
}
