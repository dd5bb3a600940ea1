using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// Blurs each image, with probability <see cref="Probability"/>, by a Gaussian whose σ is drawn per
/// sample uniformly from [<see cref="SigmaMin"/>, <see cref="SigmaMax"/>] (pixels). The kernel is
/// <see cref="KernelSize"/> wide, separable, normalised to sum 1, with reflect padding (torchvision's
/// tensor GaussianBlur). All selected samples are blurred in two grouped convolutions.
/// </summary>
public sealed class GaussianBlur : IBatchTransform
{
    /// <summary>Creates the transform.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The kernel size is not odd and ≥ 3, the σ range is empty
    /// or not positive, or the probability is outside [0, 1].</exception>
    public GaussianBlur(int kernelSize, double sigmaMin = 0.1, double sigmaMax = 2.0, double probability = 0.5)
    {
        if (kernelSize < 3 || kernelSize % 2 == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "GaussianBlur kernel size must be odd and at least 3.");
        }

        if (!(sigmaMin > 0 && sigmaMin <= sigmaMax && double.IsFinite(sigmaMax)))
        {
            throw new ArgumentOutOfRangeException(nameof(sigmaMin), $"GaussianBlur σ range must satisfy 0 < min ≤ max; got ({sigmaMin}, {sigmaMax}).");
        }

        KernelSize = kernelSize;
        SigmaMin = sigmaMin;
        SigmaMax = sigmaMax;
        Probability = Check.Probability(probability, nameof(probability));
    }

    /// <summary>Kernel width and height in pixels (odd).</summary>
    public int KernelSize { get; }

    /// <summary>Smallest σ in pixels.</summary>
    public double SigmaMin { get; }

    /// <summary>Largest σ in pixels.</summary>
    public double SigmaMax { get; }

    /// <summary>Chance that a sample is blurred.</summary>
    public double Probability { get; }

    /// <summary>The normalised 1-D kernel for <paramref name="sigma"/> (length <see cref="KernelSize"/>).</summary>
    public float[] Kernel(double sigma)
    {
        var kernel = new float[KernelSize];
        int half = KernelSize / 2;
        double sum = 0;
        var weights = new double[KernelSize];
        for (int k = 0; k < KernelSize; k++)
        {
            double x = (k - half) / sigma;
            weights[k] = Math.Exp(-0.5 * x * x);
            sum += weights[k];
        }

        for (int k = 0; k < KernelSize; k++)
        {
            kernel[k] = (float)(weights[k] / sum);
        }

        return kernel;
    }

    /// <inheritdoc />
    public Tensor Apply(Tensor images, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(random);
        int batch = (int)images.shape[0];
        var selected = new List<long>();
        var sigmas = new List<double>();
        for (int i = 0; i < batch; i++)
        {
            if (random.NextBool(Probability))
            {
                selected.Add(i);
                sigmas.Add(random.Uniform(SigmaMin, SigmaMax));
            }
        }

        int half = KernelSize / 2;
        if (half >= images.shape[2] || half >= images.shape[3])
        {
            throw new ArgumentException($"GaussianBlur kernel size {KernelSize} is too large for {images.shape[2]}x{images.shape[3]} images (reflect padding needs kernel/2 < side).", nameof(images));
        }

        return BatchOps.ApplyToSubset(images, selected, x => Blur(x, sigmas));
    }

    private Tensor Blur(Tensor x, List<double> sigmas)
    {
        long n = x.shape[0];
        long channels = x.shape[1];
        long height = x.shape[2];
        long width = x.shape[3];

        // One kernel per (sample, channel) pair: the batch becomes the channel axis of a grouped convolution.
        var weights = new float[n * channels * KernelSize];
        for (int i = 0; i < n; i++)
        {
            float[] kernel = Kernel(sigmas[i]);
            for (int c = 0; c < channels; c++)
            {
                Array.Copy(kernel, 0, weights, ((i * channels) + c) * KernelSize, KernelSize);
            }
        }

        int half = KernelSize / 2;
        var w = tensor(weights, ScalarType.Float32).to(x.device).to(x.dtype);
        var grouped = x.reshape(1, n * channels, height, width);
        grouped = F.pad(grouped, [half, half, half, half], TorchSharp.PaddingModes.Reflect);
        grouped = F.conv2d(grouped, w.view(n * channels, 1, 1, KernelSize), groups: n * channels);
        grouped = F.conv2d(grouped, w.view(n * channels, 1, KernelSize, 1), groups: n * channels);
        return grouped.view(n, channels, height, width);
    }
}
