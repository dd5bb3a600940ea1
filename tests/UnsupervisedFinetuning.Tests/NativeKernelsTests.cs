using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests;

public sealed class NativeKernelsTests
{
    // The shapes the defect was seen on (channel blocks mostly padding), each with stride 1 and 2.
    private static readonly (int In, int Out)[] PaddedChannels = [(1, 2), (2, 4), (3, 8), (4, 8), (8, 4), (8, 16), (16, 24), (24, 24)];

    [Test]
    public void ConvolutionBackward_WithNaNLeftInFreedMemory_MatchesFloat64ForChannelCountsThatPadABlock()
    {
        // Regression for the oneDNN defect seen on Zen 5 Firecracker VMs: there, without the check switching oneDNN
        // off, about a third of these gradients came out wrong or NaN. The float64 reference never runs through oneDNN.
        TorchDevices.EnsureNativeBackend();
        random.manual_seed(11);
        var failures = new List<string>();
        foreach (var (channels, outputs) in PaddedChannels)
        {
            foreach (long stride in new long[] { 1, 2 })
            {
                using var scope = NewDisposeScope();
                for (int i = 0; i < 12; i++)
                {
                    using var junk = full([1L << (8 + i), 1], float.NaN);
                }

                var input = randn(16, channels, 8, 8).requires_grad_(true);
                var weight = randn(outputs, channels, 3, 3);
                var output = nn.functional.conv2d(input, weight, null, [stride, stride], [1, 1], [1, 1], 1);
                var upstream = randn_like(output);
                (output * upstream).sum().backward();
                var exact = input.detach().to(ScalarType.Float64).requires_grad_(true);
                (nn.functional.conv2d(exact, weight.to(ScalarType.Float64), null, [stride, stride], [1, 1], [1, 1], 1) * upstream.to(ScalarType.Float64)).sum().backward();
                double error = (input.grad!.to(ScalarType.Float64) - exact.grad!).abs().max().item<double>() / exact.grad!.abs().max().item<double>();
                if (!(error < 1e-5))
                {
                    failures.Add($"{channels}→{outputs} stride {stride}: relative error {error:G3}");
                }
            }
        }

        Assert.That(failures, Is.Empty, NativeKernels.OneDnnReason);
    }

    [Test]
    public void Decide_Auto_SwitchesOneDnnOffWhenTheProbeSeesTheDefect_AndSaysHowToKeepIt()
    {
        var (enable, defective, reason) = NativeKernels.Decide(null, () => true);

        Assert.That(enable, Is.False);
        Assert.That(defective, Is.True);
        Assert.That(reason, Does.Contain("wrong gradients").And.Contain("UFT_ONEDNN=on"));
        Assert.That(NativeKernels.Decide("auto", () => false), Is.EqualTo((true, false, "oneDNN is on: its convolutions passed the check")));
        Assert.That(NativeKernels.Decide("", () => null).Enable, Is.True, "a platform where the check cannot run keeps oneDNN");
    }

    [Test]
    public void Decide_OnOrOff_NeverRunsTheProbe()
    {
        bool? Probe() => throw new AssertionException("the probe ran");

        Assert.That(NativeKernels.Decide("on", Probe), Is.EqualTo((true, false, "oneDNN is on: UFT_ONEDNN=on (not checked)")));
        Assert.That(NativeKernels.Decide(" OFF ", Probe).Enable, Is.False);
    }

    [Test]
    public void Decide_AnotherValue_IsRefusedNamingTheVariable()
    {
        var e = Assert.Throws<InvalidOperationException>(() => NativeKernels.Decide("fast", () => false));

        Assert.That(e!.Message, Is.EqualTo("The environment variable UFT_ONEDNN is 'fast'; expected auto, on or off."));
    }

    [Test]
    public void BFloat16_IsNotNativeOnACpuWhoseOneDnnIsOff()
    {
        Assume.That(NativeKernels.OneDnnEnabled, Is.False, "only where the check (or UFT_ONEDNN=off) switched oneDNN off");

        Assert.That(ComputePrecisions.SupportsNativeBFloat16(CPU), Is.False);
        Assert.That(ComputePrecisions.Resolve(ComputePrecision.Auto, CPU), Is.EqualTo(ComputePrecision.Float32));
    }
}
