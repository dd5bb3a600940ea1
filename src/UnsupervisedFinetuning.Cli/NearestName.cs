namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// "Did you mean …?" for a misspelt option or settings field: the known name closest to what was written, if
/// it is close enough to be the one meant.
/// </summary>
internal static class NearestName
{
    /// <summary>
    /// The name in <paramref name="known"/> nearest to <paramref name="written"/>, ignoring case: one that differs
    /// by a few typed characters (a missing, extra, wrong or swapped letter; about one per four letters), or one
    /// that the written name begins (a name cut short); <see langword="null"/> when none is that close.
    /// </summary>
    public static string? Find(string written, IEnumerable<string> known)
    {
        string typed = written.ToLowerInvariant();
        int allowed = Math.Clamp(typed.Length / 4, 1, 3);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string name in known)
        {
            string candidate = name.ToLowerInvariant();
            int distance = Distance(typed, candidate);
            if (distance < bestDistance && (distance <= allowed || (typed.Length >= 3 && candidate.StartsWith(typed, StringComparison.Ordinal))))
            {
                best = name;
                bestDistance = distance;
            }
        }

        return best;
    }

    /// <summary>Edits (insert, delete, replace, swap two neighbours) that turn <paramref name="a"/> into <paramref name="b"/>.</summary>
    internal static int Distance(string a, string b)
    {
        // Optimal string alignment: Levenshtein plus the transposition of adjacent letters ("alpah" → "alpha" is one edit).
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
