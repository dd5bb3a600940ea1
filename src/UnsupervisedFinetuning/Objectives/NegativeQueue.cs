using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>The state of a <see cref="NegativeQueue"/>, for checkpoints.</summary>
/// <param name="Keys">The ring buffer [K,D] on the CPU (the caller owns it).</param>
/// <param name="Pointer">Row the next key is written to.</param>
/// <param name="Filled">Rows written so far, capped at K.</param>
public sealed record NegativeQueueState(Tensor Keys, long Pointer, long Filled);

/// <summary>
/// MoCo's dictionary of negatives: a ring buffer of K key embeddings [K,D] on the training device. New
/// keys overwrite the oldest, wrapping around the end, so the buffer always holds the newest K keys.
/// Initialised with random unit vectors (as MoCo does) from a seed.
/// </summary>
public sealed class NegativeQueue : IDisposable
{
    private Tensor _keys;
    private long _pointer;
    private long _filled;

    /// <summary>Creates a queue of <paramref name="size"/> random unit vectors of <paramref name="dimension"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Size or dimension is not positive.</exception>
    public NegativeQueue(int size, int dimension, Device? device = null, long seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        Size = size;
        Dimension = dimension;
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        _keys = F.normalize(randn([size, dimension], generator: generator), dim: 1).to(device ?? CPU).DetachFromDisposeScope();
    }

    /// <summary>K, the number of negatives.</summary>
    public int Size { get; }

    /// <summary>D, the embedding width.</summary>
    public int Dimension { get; }

    /// <summary>The negatives [K,D]; owned by the queue, do not dispose or modify.</summary>
    public Tensor Keys => _keys;

    /// <summary>Row the next enqueued key goes to.</summary>
    public long Pointer => _pointer;

    /// <summary>How many rows hold real keys (the rest are the random initialisation).</summary>
    public long Filled => _filled;

    /// <summary>
    /// The default K for a finetuning set of <paramref name="datasetSize"/> images: the largest multiple of the
    /// batch size not above min(<paramref name="cap"/>, N), at least one batch. A queue longer than the set
    /// would hold older keys of the very images in the batch as "negatives".
    /// </summary>
    public static int DefaultSize(int batchSize, int datasetSize, int cap = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(datasetSize);
        int limit = Math.Min(cap, datasetSize);
        return Math.Max(batchSize, limit / batchSize * batchSize);
    }

    /// <summary>Writes <paramref name="keys"/> [B,D] (detached; B ≤ K) over the oldest rows, wrapping around.</summary>
    /// <exception cref="ArgumentException">The keys are not [B,D] with 1 ≤ B ≤ K.</exception>
    public void Enqueue(Tensor keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.dim() != 2 || keys.shape[1] != Dimension || keys.shape[0] < 1 || keys.shape[0] > Size)
        {
            throw new ArgumentException($"Keys to enqueue must be [B,{Dimension}] with 1 ≤ B ≤ {Size}; got [{string.Join(",", keys.shape)}].", nameof(keys));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var incoming = keys.detach().to(_keys.device).to(_keys.dtype);
        long count = incoming.shape[0];
        long first = Math.Min(count, Size - _pointer);
        _keys.narrow(0, _pointer, first).copy_(incoming.narrow(0, 0, first));
        if (first < count)
        {
            _keys.narrow(0, 0, count - first).copy_(incoming.narrow(0, first, count - first));
        }

        _pointer = (_pointer + count) % Size;
        _filled = Math.Min(Size, _filled + count);
    }

    /// <summary>A copy of the queue's state on the CPU, for a checkpoint.</summary>
    public NegativeQueueState GetState()
    {
        // On the CPU, cpu() returns the queue's own tensor, which clone() must copy; elsewhere cpu() is
        // already a copy, and the clone of it would leak the intermediate.
        Tensor keys = _keys.device_type == TorchSharp.DeviceType.CPU ? _keys.clone() : _keys.cpu();
        return new NegativeQueueState(keys, _pointer, _filled);
    }

    /// <summary>Restores a state captured with <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">The state's shape or counters do not fit this queue.</exception>
    public void LoadState(NegativeQueueState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Keys.shape.SequenceEqual(new long[] { Size, Dimension }) || state.Pointer < 0 || state.Pointer >= Size || state.Filled < 0 || state.Filled > Size)
        {
            throw new ArgumentException($"Queue state [{string.Join(",", state.Keys.shape)}] at pointer {state.Pointer} with {state.Filled} filled does not fit a queue of [{Size},{Dimension}].", nameof(state));
        }

        using var noGrad = no_grad();
        _keys.copy_(state.Keys);
        _pointer = state.Pointer;
        _filled = state.Filled;
    }

    /// <summary>Moves the queue to <paramref name="device"/>.</summary>
    public void To(Device device)
    {
        var moved = _keys.to(device);
        if (!ReferenceEquals(moved, _keys))
        {
            moved.DetachFromDisposeScope();
            _keys.Dispose();
            _keys = moved;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _keys.Dispose();
}
