using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Counts the multiply-accumulates of one forward pass of a network's convolutions and linear layers (the
/// rest — BatchNorm, ReLU, pooling — is a few percent), from the output shapes seen by forward hooks:
/// a convolution does out_elements × (in_channels / groups) × kH × kW MACs, a linear layer out_elements × in_features.
/// </summary>
internal static class FlopCounter
{
    /// <summary>Forward MACs for one image of shape [C,H,W].</summary>
    public static long ForwardMacsPerImage(nn.Module<Tensor, Tensor> network, long channels, long height, long width)
    {
        long macs = 0;
        var removers = new List<Action>();
        foreach (var module in network.modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    removers.Add(conv.register_forward_hook((_, _, output) =>
                    {
                        var w = conv.weight!.shape; // [out, in/groups, kH, kW]
                        macs += output.numel() * w[1] * w[2] * w[3];
                        return output;
                    }).remove);
                    break;
                case Linear linear:
                    removers.Add(linear.register_forward_hook((_, _, output) =>
                    {
                        macs += output.numel() * linear.weight!.shape[1];
                        return output;
                    }).remove);
                    break;
            }
        }

        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            bool training = network.training;
            network.eval();
            network.call(zeros(1, channels, height, width));
            network.train(training);
        }

        foreach (var remove in removers)
        {
            remove();
        }

        return macs;
    }
}
