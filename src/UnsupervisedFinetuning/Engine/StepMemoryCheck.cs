using System.Globalization;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Refuses, before the first step, a run whose steps cannot fit in the machine's memory — a view size or batch far
/// too large would otherwise grow until the operating system kills the process (on Linux nothing fails earlier:
/// memory is overcommitted). The estimate measures instead of modelling the network: one image's forward and
/// backward pass through the backbone at the view size, its peak resident memory (VmHWM, reset first), times the
/// images a step sends through it (two views of the batch, three with mixing in Add mode), plus the step's input
/// tensors. A run is refused when that exceeds the memory the kernel reports available (MemAvailable).
/// </summary>
/// <remarks>
/// Linux and the CPU only (it reads /proc); elsewhere nothing is checked. The probe changes nothing the caller owns:
/// the backbone runs in evaluation mode (batch-norm statistics untouched, mode restored) and gradients are taken with
/// <c>autograd.grad</c>, not accumulated into the parameters. It costs one image's pass — milliseconds at the usual
/// sizes — and refuses sizes whose inputs alone could not fit before measuring anything.
/// </remarks>
internal static class StepMemoryCheck
{
    /// <summary>Throws <see cref="InsufficientMemoryException"/> when a step is estimated not to fit.</summary>
    public static void Check(Backbones.Backbone backbone, int channels, int imageSize, FinetuneOptions options, Mixing.IMixingStrategy mixing, Device device)
    {
        if (device.type != TorchSharp.DeviceType.CPU || !OperatingSystem.IsLinux() || NativeMemory.AvailableBytes() is not { } available)
        {
            return;
        }

        int batchSize = options.BatchSize;
        int passes = mixing is not Mixing.NoMixing && options.MixingCompute == MixingCompute.Add ? 3 : 2; // Add: a second, mixed query pass
        long pixels = (long)imageSize * imageSize;
        // A step holds each view as float (and its uint8 source): a lower bound, known before anything is allocated.
        double inputs = (double)batchSize * passes * channels * pixels * (4 + 1);
        if (inputs > available)
        {
            throw Refusal(batchSize, imageSize, inputs, available, "its input views alone");
        }

        // The probe's own need is about one image's activations; refuse before probing when even that could not fit.
        double probeFloor = 16.0 * channels * pixels * 4;
        if (probeFloor > available)
        {
            throw Refusal(batchSize, imageSize, probeFloor * batchSize * passes, available, "one image's activations already");
        }

        double perImage = MeasurePerImage(backbone, channels, imageSize);
        if (perImage <= 0)
        {
            return; // the peak could not be read
        }

        double estimate = inputs + (perImage * batchSize * passes);
        if (estimate > available)
        {
            throw Refusal(batchSize, imageSize, estimate, available, $"{Gigabytes(perImage)} for one image's forward and backward pass, measured");
        }
    }

    private static InsufficientMemoryException Refusal(int batchSize, int imageSize, double need, double available, string basis) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"A training step at batch {batchSize} with {imageSize}x{imageSize} views needs about {Gigabytes(need)} ({basis}), more than the {Gigabytes(available)} this machine has available; lower FinetuneOptions.BatchSize or FinetuneOptions.Augmentation.ImageSize (uft: --batch-size, --image-size)."));

    private static string Gigabytes(double bytes) => bytes >= 1e9
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F1} GB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F0} MB");

    private static double MeasurePerImage(Backbones.Backbone backbone, int channels, int imageSize)
    {
        if (!ResetPeak() || Resident("VmRSS:") is not { } before)
        {
            return 0;
        }

        bool training = backbone.training;
        try
        {
            backbone.eval();
            using var grad = enable_grad();
            using var scope = NewDisposeScope();
            var parameters = backbone.parameters().Where(p => p.requires_grad).ToArray();
            var device = parameters.Length > 0 ? parameters[0].device : CPU;
            var image = zeros([1, channels, imageSize, imageSize], device: device);
            var output = backbone.ForwardFeatures(image).sum();
            if (parameters.Length > 0)
            {
                _ = autograd.grad([output], parameters, allow_unused: true);
            }
        }
        finally
        {
            backbone.train(training);
        }

        return Resident("VmHWM:") is { } peak ? Math.Max(0, peak - before) : 0;
    }

    private static long? Resident(string field) => NativeMemory.ProcKilobytes("/proc/self/status", field);

    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5"); // resets VmHWM to the current resident size
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
