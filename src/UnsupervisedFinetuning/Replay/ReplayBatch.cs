namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// The images of one training batch: indices into the target set and into the *source* set (not into
/// the replay subset). The batch tensor holds the target images first, then the source images.
/// </summary>
/// <param name="Target">Target-set indices.</param>
/// <param name="Source">Source-set indices (members of the replay subset); empty without replay.</param>
public sealed record ReplayBatch(int[] Target, int[] Source)
{
    /// <summary>Images in the batch.</summary>
    public int Count => Target.Length + Source.Length;

    /// <summary>Per row of the batch tensor: whether it is a replayed source image (target rows come first).</summary>
    public bool[] IsSource()
    {
        var isSource = new bool[Count];
        Array.Fill(isSource, true, Target.Length, Source.Length);
        return isSource;
    }
}
