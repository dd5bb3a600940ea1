namespace UnsupervisedFinetuning.Formats;

/// <summary>
/// How the keys of a foreign checkpoint are turned into this library's parameter names. Each key has
/// the first matching <see cref="StripPrefixes"/> entry removed, repeatedly, until none matches; keys that
/// then start with a <see cref="DropPrefixes"/> entry are dropped; the classifier <c>fc.*</c> is dropped
/// unless <see cref="KeepClassifier"/> is set. The defaults read torchvision state dicts and the
/// checkpoints of the MoCo, SimCLR and BYOL reference code.
/// </summary>
public sealed class CheckpointKeyMap
{
    /// <summary>
    /// Prefixes removed from keys, most specific first. Default: <c>module.encoder_q.</c> (MoCo),
    /// <c>module.</c> (DataParallel), <c>encoder_q.</c>, <c>online_network.encoder.</c> (BYOL),
    /// <c>backbone.</c>, <c>encoder.</c>, <c>model.</c>.
    /// </summary>
    public IList<string> StripPrefixes { get; init; } =
        ["module.encoder_q.", "module.", "encoder_q.", "online_network.encoder.", "backbone.", "encoder.", "model."];

    /// <summary>
    /// Keys starting with these (after stripping) are not part of the backbone. Default: the MoCo key
    /// encoder and queue, BYOL's target network, projection and prediction heads.
    /// </summary>
    public IList<string> DropPrefixes { get; init; } =
        ["encoder_k.", "queue", "target_network.", "online_network.projector.", "projector.", "predictor.", "projection_head.", "head."];

    /// <summary>Whether <c>fc.*</c> keys (a classifier, or MoCo's MLP head <c>fc.0</c>/<c>fc.2</c>) are kept. Default: dropped.</summary>
    public bool KeepClassifier { get; init; }

    /// <summary>
    /// Renames applied in order to a kept key after the prefixes: each a regular expression (anchored by you) and its
    /// replacement (<c>$1</c> for groups), e.g. <c>("^layers\.encoder_layer_(\d+)\.ln_1\.", "blocks.$1.norm1.")</c> for a
    /// torchvision ViT. Every matching rename applies. Default: none.
    /// </summary>
    public IList<KeyValuePair<string, string>> Renames { get; init; } = [];

    /// <summary>A copy of this map whose lists are its own.</summary>
    public CheckpointKeyMap Clone() => new()
    {
        StripPrefixes = [.. StripPrefixes],
        DropPrefixes = [.. DropPrefixes],
        KeepClassifier = KeepClassifier,
        Renames = [.. Renames],
    };

    /// <summary>The mapped name of <paramref name="key"/>, or <see langword="null"/> when it is dropped.</summary>
    public string? Map(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        string mapped = key;
        bool stripped = true;
        while (stripped)
        {
            stripped = false;
            foreach (string prefix in StripPrefixes)
            {
                if (mapped.StartsWith(prefix, StringComparison.Ordinal) && mapped.Length > prefix.Length)
                {
                    mapped = mapped[prefix.Length..];
                    stripped = true;
                    break;
                }
            }
        }

        if (DropPrefixes.Any(p => mapped.StartsWith(p, StringComparison.Ordinal)))
        {
            return null;
        }

        if (!KeepClassifier && mapped.StartsWith("fc.", StringComparison.Ordinal))
        {
            return null;
        }

        foreach (var (pattern, replacement) in Renames)
        {
            mapped = System.Text.RegularExpressions.Regex.Replace(mapped, pattern, replacement, System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }

        return mapped;
    }
}
