namespace UnsupervisedFinetuning.Tests.Objectives;

/// <summary>Obviously-correct loop implementations of the losses, in double precision, for reference.</summary>
internal static class NaiveLosses
{
    public static double[] Normalize(double[] v)
    {
        double norm = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / norm).ToArray();
    }

    public static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    public static double LogSumExp(IEnumerable<double> values)
    {
        double[] v = values.ToArray();
        double max = v.Max();
        return max + Math.Log(v.Sum(x => Math.Exp(x - max)));
    }

    /// <summary>MoCo: −log softmax of the positive among [positive, negatives].</summary>
    public static double[] InfoNce(double[][] q, double[][] k, double[][] negatives, int[] positives, double tau)
    {
        var result = new double[q.Length];
        for (int i = 0; i < q.Length; i++)
        {
            var qi = Normalize(q[i]);
            double pos = Dot(qi, Normalize(k[positives[i]])) / tau;
            var logits = new List<double> { pos };
            logits.AddRange(negatives.Select(n => Dot(qi, Normalize(n)) / tau));
            result[i] = LogSumExp(logits) - pos;
        }

        return result;
    }

    /// <summary>SimCLR: mean of the two directions of pair (z1[i], z2[p[i]]) over all 2B − 1 other embeddings.</summary>
    public static double[] NtXent(double[][] z1, double[][] z2, int[] positives, double tau)
    {
        int b = z1.Length;
        var all = z1.Concat(z2).Select(Normalize).ToArray();
        double Loss(int anchor, int positive)
        {
            var others = Enumerable.Range(0, 2 * b).Where(j => j != anchor).Select(j => Dot(all[anchor], all[j]) / tau);
            return LogSumExp(others) - (Dot(all[anchor], all[positive]) / tau);
        }

        return Enumerable.Range(0, b).Select(i => (Loss(i, b + positives[i]) + Loss(b + positives[i], i)) / 2).ToArray();
    }

    /// <summary>BYOL: 2 − 2 cos.</summary>
    public static double[] Byol(double[][] p, double[][] z, int[] positives) =>
        Enumerable.Range(0, p.Length).Select(i => 2 - (2 * Dot(Normalize(p[i]), Normalize(z[positives[i]])))).ToArray();
}
