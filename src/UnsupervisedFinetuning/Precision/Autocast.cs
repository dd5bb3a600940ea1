using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning;

/// <summary>
/// Mixed precision the way <c>torch.autocast</c> does it, for the library's own networks (TorchSharp has no
/// autocast). Inside a region opened with <see cref="Enter"/>, <see cref="Conv2d"/> and <see cref="Linear"/>
/// cast their input, weight and bias to the compute dtype and return activations of that dtype; every other
/// layer runs in the dtype it receives: batch norm keeps float32 parameters and running statistics (libtorch's
/// mixed-dtype kernel), ReLU and pooling follow their input. The casts are autograd operations, so the float32
/// parameters receive float32 gradients and stay the optimizer's master weights. Outside a region, or with a
/// null compute dtype, every helper calls the layer unchanged, so float32 runs are bit-identical to code
/// that does not go through here.
/// </summary>
/// <remarks>
/// Casting at the call site rather than rewriting modules keeps the parameter names, initialisation and
/// checkpoint format of the networks untouched. One consequence: in a lower-precision region a hook registered
/// on a convolution or linear layer does not fire (the helpers call the functional form).
/// </remarks>
internal static class Autocast
{
    [ThreadStatic]
    private static ScalarType? _computeType;

    /// <summary>The dtype conv and linear layers compute in on this thread, or null for float32.</summary>
    public static ScalarType? ComputeType => _computeType;

    /// <summary>Opens a region in which conv and linear layers compute in <paramref name="computeType"/> (null: float32); disposing it restores the enclosing region.</summary>
    public static Region Enter(ScalarType? computeType)
    {
        var previous = _computeType;
        _computeType = computeType == ScalarType.Float32 ? null : computeType;
        return new Region(previous);
    }

    /// <summary>A 2-D convolution in the region's compute dtype: [B,C,H,W] → [B,C',H',W'].</summary>
    public static Tensor Conv2d(Conv2d conv, Tensor input)
    {
        if (_computeType is not ScalarType type)
        {
            return conv.call(input);
        }

        if (conv.padding_mode != TorchSharp.PaddingModes.Zeros || conv.padding is null)
        {
            throw new NotSupportedException(conv.padding is null
                ? $"Mixed precision supports convolutions with explicit padding; this one has padding {conv.padding_type}."
                : $"Mixed precision supports zero-padded convolutions; this one has padding mode {conv.padding_mode}.");
        }

        return F.conv2d(Cast(input, type), Cast(conv.weight!, type), conv.bias is null ? null : Cast(conv.bias, type), conv.stride, conv.padding, conv.dilation, conv.groups);
    }

    /// <summary>A linear layer in the region's compute dtype: [B,in] → [B,out].</summary>
    public static Tensor Linear(Linear linear, Tensor input)
    {
        if (_computeType is not ScalarType type)
        {
            return linear.call(input);
        }

        return F.linear(Cast(input, type), Cast(linear.weight!, type), linear.bias is null ? null : Cast(linear.bias, type));
    }

    /// <summary>
    /// Any layer: conv and linear layers through the helpers above, a <see cref="Sequential"/> child by child
    /// (so its conv and linear children are cast too), anything else called as it is.
    /// </summary>
    public static Tensor Forward(nn.Module<Tensor, Tensor> module, Tensor input)
    {
        switch (module)
        {
            case TorchSharp.Modules.Conv2d conv:
                return Conv2d(conv, input);
            case TorchSharp.Modules.Linear linear:
                return Linear(linear, input);
            case Sequential sequential when _computeType is not null:
                var x = input;
                foreach (var child in sequential.children())
                {
                    x = Forward((nn.Module<Tensor, Tensor>)child, x);
                }

                return x;
            default:
                return module.call(input);
        }
    }

    /// <summary><paramref name="tensor"/> in float32: where a region's activations leave for the loss, which is always computed in float32.</summary>
    public static Tensor Float32(Tensor tensor) => tensor.dtype == ScalarType.Float32 ? tensor : tensor.to(ScalarType.Float32);

    /// <summary>
    /// <paramref name="tensor"/> in at least float32: a half-precision activation (bfloat16, float16) widened for a layer that
    /// torch.autocast runs in float32 (layer norm); float32 and float64 pass unchanged.
    /// </summary>
    public static Tensor AtLeastFloat32(Tensor tensor) => tensor.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? tensor.to(ScalarType.Float32) : tensor;

    private static Tensor Cast(Tensor tensor, ScalarType type) => tensor.dtype == type ? tensor : tensor.to(type);

    /// <summary>Restores the enclosing region's compute dtype when disposed.</summary>
    internal readonly struct Region(ScalarType? previous) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => _computeType = previous;
    }
}
