using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Data;

/// <summary>Where an image of a <see cref="ConcatDataset"/> comes from.</summary>
/// <param name="Part">Index of the part (0 = first dataset given).</param>
/// <param name="Index">Index of the image inside that part.</param>
public readonly record struct DatasetOrigin(int Part, int Index);

/// <summary>
/// Several datasets of one image shape seen as one, in order — e.g. the target set followed by the
/// replayed source subset — with the origin of every image known (<see cref="Locate"/>).
/// </summary>
public sealed class ConcatDataset : IImageDataset
{
    private readonly IImageDataset[] _parts;
    private readonly int[] _offsets; // _offsets[p] = first global index of part p; _offsets[^1] = Count

    /// <summary>Concatenates <paramref name="parts"/>.</summary>
    /// <exception cref="ArgumentException">No parts, an empty part, or parts of different image shapes.</exception>
    public ConcatDataset(params IImageDataset[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0)
        {
            throw new ArgumentException("Concatenation needs at least one dataset.", nameof(parts));
        }

        _parts = [.. parts];
        _offsets = new int[parts.Length + 1];
        for (int p = 0; p < parts.Length; p++)
        {
            ArgumentNullException.ThrowIfNull(parts[p], $"{nameof(parts)}[{p}]");
            if (parts[p].Count == 0)
            {
                throw new ArgumentException($"Part {p} of the concatenation is empty.", nameof(parts));
            }

            if (parts[p].Shape != parts[0].Shape)
            {
                throw new ArgumentException($"Part {p} has images of shape {parts[p].Shape} but part 0 has {parts[0].Shape}; concatenated datasets must share one shape.", nameof(parts));
            }

            _offsets[p + 1] = checked(_offsets[p] + parts[p].Count);
        }
    }

    /// <summary>The concatenated datasets, in order.</summary>
    public IReadOnlyList<IImageDataset> Parts => _parts;

    /// <inheritdoc />
    public int Count => _offsets[^1];

    /// <inheritdoc />
    public ImageShape Shape => _parts[0].Shape;

    /// <summary>First global index of part <paramref name="part"/>.</summary>
    public int PartOffset(int part) => _offsets[part];

    /// <summary>The part and local index of global image <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside [0, Count).</exception>
    public DatasetOrigin Locate(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside the concatenation's {Count} images.");
        }

        // Part starts are strictly increasing (no part is empty): an exact hit is the part starting
        // there, otherwise the part before the insertion point.
        int part = Array.BinarySearch(_offsets, index);
        part = part >= 0 ? part : ~part - 1;

        return new DatasetOrigin(part, index - _offsets[part]);
    }

    /// <inheritdoc />
    public Tensor GetBatch(ReadOnlySpan<int> indices)
    {
        // Group the request by part, gather each part once, then scatter rows back into request order.
        var localByPart = new List<int>[_parts.Length];
        var positionsByPart = new List<long>[_parts.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            var origin = Locate(indices[i]);
            (localByPart[origin.Part] ??= []).Add(origin.Index);
            (positionsByPart[origin.Part] ??= []).Add(i);
        }

        using var scope = NewDisposeScope();
        var result = empty(Shape.BatchShape(indices.Length), ScalarType.Byte);
        for (int p = 0; p < _parts.Length; p++)
        {
            if (localByPart[p] is not { } locals)
            {
                continue;
            }

            var rows = _parts[p].GetBatch(locals.ToArray());
            result.index_copy_(0, tensor(positionsByPart[p].ToArray(), ScalarType.Int64), rows);
        }

        return result.MoveToOuterDisposeScope();
    }
}
