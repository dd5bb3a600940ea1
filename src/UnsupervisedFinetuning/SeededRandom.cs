namespace UnsupervisedFinetuning;

/// <summary>
/// A small, fast, seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64) whose whole
/// state can be read and restored, so that a checkpointed run resumes with exactly the random draws it
/// would have made. Every random choice of the library — augmentation parameters, replay subsets, batch
/// order, mixing coefficients — comes from one of these, never from <see cref="Random.Shared"/>.
/// </summary>
/// <remarks>Not thread-safe: give each component its own instance (see <see cref="Fork"/>).</remarks>
public sealed class SeededRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator whose sequence is fully determined by <paramref name="seed"/>.</summary>
    public SeededRandom(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    private SeededRandom(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        _s0 = s0;
        _s1 = s1;
        _s2 = s2;
        _s3 = s3;
    }

    /// <summary>Restores a generator from a state captured with <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">The state does not have four words or is all zero (invalid for xoshiro).</exception>
    public static SeededRandom FromState(IReadOnlyList<ulong> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 4)
        {
            throw new ArgumentException($"A SeededRandom state has 4 words; got {state.Count}.", nameof(state));
        }

        if (state[0] == 0 && state[1] == 0 && state[2] == 0 && state[3] == 0)
        {
            throw new ArgumentException("A SeededRandom state of all zeros is invalid.", nameof(state));
        }

        return new SeededRandom(state[0], state[1], state[2], state[3]);
    }

    /// <summary>The generator's state: four words that <see cref="FromState"/> turns back into this generator.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>
    /// A new generator for a named consumer, derived from this one's current state and the name, so that
    /// adding draws in one component does not shift the sequence another component sees. Does not advance
    /// this generator.
    /// </summary>
    public SeededRandom Fork(string stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ulong hash = 14695981039346656037UL; // FNV-1a over the name
        foreach (char c in stream)
        {
            hash = unchecked((hash ^ c) * 1099511628211UL);
        }

        ulong x = _s0 ^ Rotl(_s1, 17) ^ Rotl(_s2, 31) ^ Rotl(_s3, 47) ^ hash;
        return new SeededRandom(SplitMix64(ref x), SplitMix64(ref x), SplitMix64(ref x), SplitMix64(ref x));
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = unchecked(Rotl(_s1 * 5, 7) * 9);
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = Rotl(_s3, 45);
        return result;
    }

    /// <summary>A double uniformly distributed in [0, 1), with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A double uniformly distributed in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double Uniform(double low, double high) => low + ((high - low) * NextDouble());

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    public bool NextBool(double probability) => probability >= 1.0 || (probability > 0.0 && NextDouble() < probability);

    /// <summary>An integer uniformly distributed in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is not positive.</exception>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);

        // Lemire's multiply-shift with rejection: unbiased and needs no division in the common case.
        ulong range = (ulong)maxExclusive;
        UInt128 product = (UInt128)NextUInt64() * range;
        ulong low = (ulong)product;
        if (low < range)
        {
            ulong threshold = unchecked(0 - range) % range;
            while (low < threshold)
            {
                product = (UInt128)NextUInt64() * range;
                low = (ulong)product;
            }
        }

        return (int)(product >> 64);
    }

    /// <summary>An integer uniformly distributed in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int minInclusive, int maxExclusive)
    {
        if (maxExclusive <= minInclusive)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, $"Must be greater than minInclusive ({minInclusive}).");
        }

        return minInclusive + NextInt(maxExclusive - minInclusive);
    }

    /// <summary>A standard normal variate (Box–Muller; one of the pair is discarded to keep the state simple).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A Gamma(<paramref name="shape"/>, 1) variate (Marsaglia and Tsang 2000).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="shape"/> is not positive and finite.</exception>
    public double NextGamma(double shape)
    {
        if (!(shape > 0) || double.IsInfinity(shape))
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "The Gamma shape must be positive and finite.");
        }

        if (shape < 1.0)
        {
            // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
            double u = 1.0 - NextDouble();
            return NextGamma(shape + 1.0) * Math.Pow(u, 1.0 / shape);
        }

        double d = shape - (1.0 / 3.0);
        double c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x;
            double v;
            do
            {
                x = NextGaussian();
                v = 1.0 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            double u = NextDouble();
            if (u < 1.0 - (0.0331 * x * x * x * x) || Math.Log(u) < (0.5 * x * x) + (d * (1.0 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    /// <summary>A Beta(<paramref name="alpha"/>, <paramref name="beta"/>) variate, from two Gamma variates.</summary>
    public double NextBeta(double alpha, double beta)
    {
        double x = NextGamma(alpha);
        double y = NextGamma(beta);
        return x / (x + y);
    }

    /// <summary>A uniformly random permutation of 0..<paramref name="count"/>-1 (Fisher–Yates).</summary>
    public int[] Permutation(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var result = new int[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = i;
        }

        Shuffle(result);
        return result;
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Rotl(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = unchecked(x += 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
