namespace UnsupervisedFinetuning.Augment;

/// <summary>Argument checks and per-sample selection shared by the transforms.</summary>
internal static class Check
{
    public static double Probability(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
        {
            throw new ArgumentOutOfRangeException(name, value, "A probability must lie in [0, 1].");
        }

        return value;
    }

    /// <summary>Indices of the samples chosen with probability <paramref name="probability"/>, one draw per sample.</summary>
    public static List<long> DrawSelection(int batch, double probability, SeededRandom random)
    {
        var selected = new List<long>(batch);
        for (int i = 0; i < batch; i++)
        {
            if (random.NextBool(probability))
            {
                selected.Add(i);
            }
        }

        return selected;
    }
}
