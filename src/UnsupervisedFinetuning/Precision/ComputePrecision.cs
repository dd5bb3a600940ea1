namespace UnsupervisedFinetuning;

/// <summary>
/// The dtype convolutions and linear layers compute in (mixed precision). Whatever is chosen, parameters,
/// gradients, optimizer state, batch-norm statistics, the momentum encoder and checkpoints stay float32, and
/// losses (softmax, log-sum-exp) are computed in float32.
/// </summary>
public enum ComputePrecision
{
    /// <summary>Everything in float32: the default, and the only choice whose numbers match earlier versions.</summary>
    Float32,

    /// <summary>
    /// Convolutions and linear layers in bfloat16 (8-bit mantissa, float32's range: no loss scaling needed).
    /// Fast where the hardware computes bfloat16 natively (x86 CPUs with AVX-512 BF16 or AMX, CUDA devices of
    /// compute capability 8.0 or newer); elsewhere it is emulated and much slower than float32.
    /// </summary>
    BFloat16,

    /// <summary>
    /// Convolutions and linear layers in float16. Accepted for feature extraction; training refuses it,
    /// because float16 gradients underflow without dynamic loss scaling, which this version does not implement.
    /// </summary>
    Float16,

    /// <summary>
    /// <see cref="BFloat16"/> where the device computes it natively (detected, see
    /// <see cref="ComputePrecisions.SupportsNativeBFloat16"/>), <see cref="Float32"/> elsewhere.
    /// </summary>
    Auto,
}
