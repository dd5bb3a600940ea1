using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>A trained multinomial logistic regression on standardised features.</summary>
public sealed class LinearModel : IDisposable
{
    internal LinearModel(Tensor weights, Tensor bias, Tensor mean, Tensor std, double l2, int iterations, double objective)
    {
        Weights = weights;
        Bias = bias;
        Mean = mean;
        Std = std;
        L2 = l2;
        Iterations = iterations;
        Objective = objective;
    }

    /// <summary>W [D, C] (float64), acting on standardised features.</summary>
    public Tensor Weights { get; }

    /// <summary>b [C] (float64).</summary>
    public Tensor Bias { get; }

    /// <summary>Per-feature mean used for standardisation [D].</summary>
    public Tensor Mean { get; }

    /// <summary>Per-feature standard deviation used for standardisation [D] (constant features get 1).</summary>
    public Tensor Std { get; }

    /// <summary>The L2 strength λ it was trained with.</summary>
    public double L2 { get; }

    /// <summary>Optimizer iterations taken.</summary>
    public int Iterations { get; }

    /// <summary>Final value of the training objective (mean cross-entropy + λ/2·‖W‖²).</summary>
    public double Objective { get; }

    /// <summary>Logits [M, C] of raw features [M, D].</summary>
    public Tensor Logits(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var scope = NewDisposeScope();
        var x = (features.to(ScalarType.Float64) - Mean) / Std;
        return x.matmul(Weights).add(Bias).MoveToOuterDisposeScope();
    }

    /// <summary>Predicted classes of raw features [M, D].</summary>
    public int[] Predict(Tensor features)
    {
        using var logits = Logits(features);
        using var arg = logits.argmax(1);
        return arg.data<long>().ToArray().Select(v => (int)v).ToArray();
    }

    /// <summary>Top-1 accuracy on labelled features.</summary>
    public double Accuracy(Tensor features, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        int[] predicted = Predict(features);
        return predicted.Where((p, i) => p == labels[i]).Count() / (double)predicted.Length;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Weights.Dispose();
        Bias.Dispose();
        Mean.Dispose();
        Std.Dispose();
    }
}
