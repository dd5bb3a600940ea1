using System.Runtime.InteropServices;
using TorchSharp;
using UnsupervisedFinetuning.Build;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests;

/// <summary>The build output's native TorchSharp loads on this machine and computes correctly.</summary>
[TestFixture]
public sealed class NativeBackendTests
{
    [Test]
    public void Ones_Sum_IsFour()
    {
        TorchDevices.EnsureNativeBackend();
        using var scope = NewDisposeScope();

        float sum = ones(2, 2).sum().item<float>();

        Assert.That(sum, Is.EqualTo(4f));
    }

    [Test]
    public void SmallConvNet_Backward_GradientsAreFiniteAndMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(7);
        var net = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size: 3, padding: 1),
            nn.ReLU(),
            nn.Conv2d(4, 2, kernel_size: 3, stride: 2),
            nn.Flatten(),
            nn.Linear(2 * 3 * 3, 3));
        net.to(float64);
        var x = randn(5, 1, 8, 8, dtype: float64);
        Tensor Loss() => net.forward(x).pow(2).mean();

        Loss().backward();

        var parameters = net.parameters().ToArray();
        foreach (var p in parameters)
        {
            Assert.That(p.grad, Is.Not.Null);
            Assert.That(p.grad!.isfinite().all().item<bool>(), Is.True);
        }

        // Central finite differences on a few entries of the first convolution's weight.
        var weight = parameters[0];
        var analytic = weight.grad!.flatten();
        using (no_grad())
        {
            var flat = weight.view(-1);
            foreach (int i in new[] { 0, 7, 20, 35 })
            {
                const double h = 1e-6;
                double original = flat[i].item<double>();
                flat[i] = original + h;
                double up = Loss().item<double>();
                flat[i] = original - h;
                double down = Loss().item<double>();
                flat[i] = original;
                double numeric = (up - down) / (2 * h);
                Assert.That(analytic[i].item<double>(), Is.EqualTo(numeric).Within(1e-6 + (1e-5 * Math.Abs(numeric))), $"weight[{i}]");
            }
        }
    }

    [Test]
    public void OutputCopyOfNativeLibrary_IsPatchedWhenTheSystemLibStdCxxLacksTheVersion()
    {
        Assume.That(RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && RuntimeInformation.OSArchitecture == Architecture.X64);
        string native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        string system = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        Assume.That(File.Exists(system), "needs a Debian/Ubuntu x86_64 libstdc++");
        Assert.That(File.Exists(native), Is.True, native);

        bool systemHasIt = ElfVersionNeeds.ReadDefinitions(system).Contains("GLIBCXX_3.4.32");
        var requirement = ElfVersionNeeds.ReadRequirements(native).SingleOrDefault(r => r.Name == "GLIBCXX_3.4.32");

        Assume.That(requirement, Is.Not.Null, "this TorchSharp build does not ask for GLIBCXX_3.4.32");
        Assert.That(requirement!.IsWeak, Is.EqualTo(!systemHasIt));
    }
}
