using TorchSharp;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests;

[TestFixture]
public sealed class TorchDevicesTests
{
    [TestCase("cpu")]
    [TestCase("CPU")]
    [TestCase(" cpu ")]
    public void Resolve_Cpu_ReturnsCpu(string name)
    {
        var device = TorchDevices.Resolve(name);

        Assert.That(device.type, Is.EqualTo(DeviceType.CPU));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("auto")]
    public void Resolve_Auto_PicksCudaOnlyWhenAvailable(string? name)
    {
        var device = TorchDevices.Resolve(name);

        Assert.That(device.type, Is.EqualTo(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU));
    }

    [TestCase("banana")]
    [TestCase("cuda:0:1")]
    [TestCase("cuda:x")]
    [TestCase("cpu:1")]
    [TestCase("1")]
    public void Resolve_UnknownName_ThrowsNamingTheValue(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => TorchDevices.Resolve(name));

        Assert.That(e!.Message, Does.Contain($"'{name}'").And.Contain("expected"));
        Assert.That(TorchDevices.IsValidName(name), Is.False);
    }

    [TestCase("auto", true)]
    [TestCase(" CPU ", true)]
    [TestCase("mps", true)]
    [TestCase("cuda", true)]
    [TestCase("cuda:3", true)]
    [TestCase("gpu", false)]
    [TestCase("", false)]
    [TestCase(null, false)]
    public void IsValidName_ChecksSpellingOnly(string? name, bool valid)
    {
        Assert.That(TorchDevices.IsValidName(name), Is.EqualTo(valid));
    }

    [Test]
    public void Resolve_CudaWithoutGpu_ThrowsExplainingTheBackend()
    {
        Assume.That(cuda.is_available(), Is.False);

        var e = Assert.Throws<InvalidOperationException>(() => TorchDevices.Resolve("cuda"));

        Assert.That(e!.Message, Does.Contain("CUDA is not available").And.Contain("TorchSharpBackend=cuda"));
    }
}
