using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>
/// Weighted k-nearest-neighbour classification on L2-normalised features (Wu et al. 2018, the standard
/// self-supervised kNN monitor): each query's k most cosine-similar bank features vote for their class with
/// weight exp(s/τ); the class with the largest total wins (ties go to the lower class index).
/// </summary>
public sealed class KnnClassifier
{
    private const int QueryChunk = 1024;

    /// <summary>Creates the classifier.</summary>
    /// <param name="k">Neighbours that vote (default 20).</param>
    /// <param name="temperature">τ of the vote weights (default 0.07).</param>
    /// <exception cref="ArgumentOutOfRangeException">k is not positive or τ is not positive.</exception>
    public KnnClassifier(int k = 20, double temperature = 0.07)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (!(temperature > 0) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The kNN temperature must be a finite value > 0.");
        }

        K = k;
        Temperature = temperature;
    }

    /// <summary>Neighbours that vote.</summary>
    public int K { get; }

    /// <summary>τ of the vote weights.</summary>
    public double Temperature { get; }

    /// <summary>Predicted class of each query [M, D] given the labelled bank [N, D].</summary>
    /// <exception cref="ArgumentException">Shapes or label counts disagree, or a label is outside [0, classCount).</exception>
    public int[] Predict(Tensor bank, IReadOnlyList<int> bankLabels, int classCount, Tensor queries)
    {
        ArgumentNullException.ThrowIfNull(bank);
        ArgumentNullException.ThrowIfNull(bankLabels);
        ArgumentNullException.ThrowIfNull(queries);
        if (bank.dim() != 2 || queries.dim() != 2 || bank.shape[1] != queries.shape[1])
        {
            throw new ArgumentException($"kNN needs bank [N,D] and queries [M,D] of one width; got [{string.Join(",", bank.shape)}] and [{string.Join(",", queries.shape)}].", nameof(queries));
        }

        if (bankLabels.Count != bank.shape[0])
        {
            throw new ArgumentException($"The bank has {bank.shape[0]} features but {bankLabels.Count} labels.", nameof(bankLabels));
        }

        int bad = bankLabels.ToList().FindIndex(l => l < 0 || l >= classCount);
        if (bad >= 0)
        {
            throw new ArgumentException($"Bank label {bankLabels[bad]} at index {bad} is outside [0, {classCount}).", nameof(bankLabels));
        }

        using var scope = NewDisposeScope();
        var b = F.normalize(bank.to(ScalarType.Float32), dim: 1);
        var labels = tensor(bankLabels.Select(l => (long)l).ToArray(), ScalarType.Int64).to(b.device);
        int k = (int)Math.Min(K, bank.shape[0]);
        var predictions = new List<int>((int)queries.shape[0]);
        for (long start = 0; start < queries.shape[0]; start += QueryChunk)
        {
            using var chunkScope = NewDisposeScope(); // the [m,N] similarities of one chunk, freed before the next
            long count = Math.Min(QueryChunk, queries.shape[0] - start);
            var q = F.normalize(queries.narrow(0, start, count).to(ScalarType.Float32).to(b.device), dim: 1);
            var (similarity, index) = q.matmul(b.t()).topk(k, dim: 1);                  // [m,k]
            var weights = (similarity / Temperature).exp();                              // exp(s/τ)
            var votes = zeros(count, classCount, device: b.device)
                .scatter_add_(1, labels[index], weights);                                // Σ weights per class
            predictions.AddRange(votes.argmax(1).cpu().data<long>().ToArray().Select(v => (int)v));
        }

        return [.. predictions];
    }

    /// <summary>
    /// Leave-one-out accuracy on one labelled set [N, D]: each image is classified by the k most similar
    /// <em>other</em> images of the set (itself excluded), as <see cref="Predict"/> votes. Needs only a few labelled
    /// images, no separate bank: the few-label monitor and selection criterion of a run.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two images, label count differs from N, or a label is outside [0, classCount).</exception>
    public double LeaveOneOutAccuracy(Tensor features, IReadOnlyList<int> labels, int classCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.dim() != 2 || features.shape[0] < 2)
        {
            throw new ArgumentException($"Leave-one-out kNN needs at least two features [N≥2,D]; got [{string.Join(",", features.shape)}].", nameof(features));
        }

        if (labels.Count != features.shape[0])
        {
            throw new ArgumentException($"There are {features.shape[0]} features but {labels.Count} labels.", nameof(labels));
        }

        int bad = labels.ToList().FindIndex(l => l < 0 || l >= classCount);
        if (bad >= 0)
        {
            throw new ArgumentException($"Label {labels[bad]} at index {bad} is outside [0, {classCount}).", nameof(labels));
        }

        using var scope = NewDisposeScope();
        long n = features.shape[0];
        var z = F.normalize(features.to(ScalarType.Float32), dim: 1);
        var labelTensor = tensor(labels.Select(l => (long)l).ToArray(), ScalarType.Int64).to(z.device);
        int k = (int)Math.Min(K, n - 1);
        long correct = 0;
        for (long start = 0; start < n; start += QueryChunk)
        {
            using var chunkScope = NewDisposeScope(); // the [m,N] similarities of one chunk, freed before the next
            long m = Math.Min(QueryChunk, n - start);
            var similarity = z.narrow(0, start, m).matmul(z.t());                               // [m,N]
            similarity.index_put_(float.NegativeInfinity, arange(m, device: z.device), arange(start, start + m, device: z.device)); // itself is never a neighbour
            var (top, index) = similarity.topk(k, dim: 1);                                     // [m,k]
            var votes = zeros(m, classCount, device: z.device).scatter_add_(1, labelTensor[index], (top / Temperature).exp());
            correct += votes.argmax(1).eq(labelTensor.narrow(0, start, m)).sum().item<long>();
        }

        return correct / (double)n;
    }

    /// <summary>Top-1 accuracy of <see cref="Predict"/> against <paramref name="queryLabels"/>.</summary>
    public double Accuracy(Tensor bank, IReadOnlyList<int> bankLabels, int classCount, Tensor queries, IReadOnlyList<int> queryLabels)
    {
        ArgumentNullException.ThrowIfNull(queryLabels);
        int[] predicted = Predict(bank, bankLabels, classCount, queries);
        if (queryLabels.Count != predicted.Length)
        {
            throw new ArgumentException($"There are {predicted.Length} queries but {queryLabels.Count} labels.", nameof(queryLabels));
        }

        return predicted.Where((p, i) => p == queryLabels[i]).Count() / (double)predicted.Length;
    }
}
