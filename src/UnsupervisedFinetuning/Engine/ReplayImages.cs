using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// The replayed source images of a run, decoded once when the run starts and kept: the subset is small by
/// definition (a fraction of the target set), while the source set may be a folder of a million files that
/// must not be decoded — or even touched — again every step. Memory: |S|·C·H·W bytes.
/// </summary>
internal sealed class ReplayImages : IDisposable
{
    private readonly Tensor? _images;                 // [|S|,C,H,W] uint8, in subset order
    private readonly Dictionary<int, long> _rowOf;    // source index → row of _images

    public ReplayImages(IImageDataset? source, int[] subset)
    {
        _rowOf = new Dictionary<int, long>(subset.Length);
        if (subset.Length == 0)
        {
            return;
        }

        for (int row = 0; row < subset.Length; row++)
        {
            _rowOf[subset[row]] = row;
        }

        _images = source!.GetBatch(subset).DetachFromDisposeScope();
    }

    /// <summary>The images of <paramref name="sourceIndices"/> (each one of the subset), as uint8 [n,C,H,W].</summary>
    public Tensor Gather(int[] sourceIndices)
    {
        long[] rows = new long[sourceIndices.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = _rowOf.TryGetValue(sourceIndices[i], out long row)
                ? row
                : throw new InvalidOperationException($"Source image {sourceIndices[i]} was planned into a batch but is not in the replayed subset.");
        }

        using var index = tensor(rows, ScalarType.Int64);
        return _images!.index_select(0, index);
    }

    public void Dispose() => _images?.Dispose();
}
