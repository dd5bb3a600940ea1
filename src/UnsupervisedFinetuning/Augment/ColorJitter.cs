using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// Randomly changes brightness, contrast, saturation and hue, as torchvision's ColorJitter does, with
/// per-sample factors and a per-sample random order of the four adjustments. Brightness, contrast and
/// saturation factors are uniform in [max(0, 1 − v), 1 + v]; the hue shift is uniform in [−h, h] (in turns
/// of the colour circle). An adjustment whose strength is 0 is skipped entirely, so a jitter of all zeros
/// is the identity. On one-channel images saturation and hue have no effect (as in torchvision).
/// Applied to each sample with probability <see cref="Probability"/> (torchvision's RandomApply).
/// </summary>
public sealed class ColorJitter : IBatchTransform
{
    private const int Brightness = 0;
    private const int Contrast = 1;
    private const int Saturation = 2;
    private const int Hue = 3;

    private readonly double[] _strength;

    /// <summary>Creates the transform.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A strength is negative, hue is above 0.5, or the probability is outside [0, 1].</exception>
    public ColorJitter(double brightness, double contrast, double saturation, double hue, double probability = 1.0)
    {
        foreach (var (name, value) in new[] { (nameof(brightness), brightness), (nameof(contrast), contrast), (nameof(saturation), saturation) })
        {
            if (!(value >= 0) || double.IsInfinity(value))
            {
                throw new ArgumentOutOfRangeException(name, value, $"ColorJitter {name} must be a finite value ≥ 0.");
            }
        }

        if (!(hue >= 0 && hue <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(hue), hue, "ColorJitter hue must lie in [0, 0.5].");
        }

        _strength = [brightness, contrast, saturation, hue];
        Probability = Check.Probability(probability, nameof(probability));
    }

    /// <summary>Chance that a sample is jittered at all.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public Tensor Apply(Tensor images, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(random);
        int batch = (int)images.shape[0];
        bool color = images.shape[1] == 3;
        int[] enabled = Enumerable.Range(0, 4).Where(o => _strength[o] > 0 && (color || o is Brightness or Contrast)).ToArray();
        if (enabled.Length == 0)
        {
            return images.alias();
        }

        // Per sample: whether to jitter, the order of the enabled adjustments, and their factors.
        var order = new int[batch][];
        var factors = new float[4][];
        for (int o = 0; o < 4; o++)
        {
            factors[o] = new float[batch];
        }

        for (int i = 0; i < batch; i++)
        {
            if (!random.NextBool(Probability))
            {
                continue;
            }

            int[] permutation = [.. enabled];
            random.Shuffle(permutation.AsSpan());
            order[i] = permutation;
            foreach (int o in enabled)
            {
                factors[o][i] = (float)(o == Hue
                    ? random.Uniform(-_strength[o], _strength[o])
                    : random.Uniform(Math.Max(0, 1 - _strength[o]), 1 + _strength[o]));
            }
        }

        // Position by position. Brightness, contrast and saturation are all the blend
        // clamp(f·x + (1 − f)·target) with target 0, the sample's mean luma, or its luma image, so one
        // full-batch blend serves every sample whose adjustment at this position is one of them; the others
        // get f = 1, which leaves them bit-identical. Hue runs on the samples that have it here only.
        using var scope = NewDisposeScope();
        var device = images.device;
        var result = images.alias();
        for (int position = 0; position < enabled.Length; position++)
        {
            var blendFactor = new float[batch];
            var useMeanLuma = new float[batch];
            var useLuma = new float[batch];
            var hueSamples = new List<long>();
            bool anyBlend = false;
            for (int i = 0; i < batch; i++)
            {
                blendFactor[i] = 1f;
                if (order[i] is not { } sampleOrder)
                {
                    continue;
                }

                int o = sampleOrder[position];
                if (o == Hue)
                {
                    hueSamples.Add(i);
                    continue;
                }

                anyBlend = true;
                blendFactor[i] = factors[o][i];
                useMeanLuma[i] = o == Contrast ? 1f : 0f;
                useLuma[i] = o == Saturation ? 1f : 0f;
            }

            if (anyBlend)
            {
                var f = BatchOps.Column(blendFactor, device).to(images.dtype);
                var luma = BatchOps.Luma(result);
                var target = (BatchOps.Column(useLuma, device).to(images.dtype) * luma)
                    + (BatchOps.Column(useMeanLuma, device).to(images.dtype) * luma.mean([1, 2, 3], keepdim: true));
                result = BatchOps.Blend(result, target, f);
            }

            if (hueSamples.Count > 0)
            {
                var shift = BatchOps.Column(hueSamples.Select(i => factors[Hue][i]).ToArray(), device).to(images.dtype);
                result = BatchOps.ApplyToSubset(result, hueSamples, x => BatchOps.ShiftHue(x, shift));
            }
        }

        return result.MoveToOuterDisposeScope();
    }
}
