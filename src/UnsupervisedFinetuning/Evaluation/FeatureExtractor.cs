using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>Frozen-backbone features of a whole dataset: batched, in eval mode, without gradients.</summary>
public static class FeatureExtractor
{
    /// <summary>
    /// Features [N, D] (float32, on the CPU, in dataset order) of every image of <paramref name="data"/>.
    /// The backbone is put in eval mode (BatchNorm uses its running statistics) and restored afterwards.
    /// </summary>
    /// <param name="backbone">The network to read features from.</param>
    /// <param name="data">The images.</param>
    /// <param name="preprocess">Turns a uint8 batch (on the backbone's device) into the network's input,
    /// e.g. <c>x =&gt; augmentation.Evaluate(x, 28, 28)</c>.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    public static Tensor Extract(Backbone backbone, IImageDataset data, Func<Tensor, Tensor> preprocess, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(preprocess);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        bool wasTraining = backbone.training;
        backbone.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var device = backbone.Device;
            var chunks = new List<Tensor>();
            for (int start = 0; start < data.Count; start += batchSize)
            {
                int count = Math.Min(batchSize, data.Count - start);
                int[] indices = Enumerable.Range(start, count).ToArray();
                var images = data.GetBatch(indices).to(device);
                chunks.Add(backbone.ForwardFeatures(preprocess(images)).to(ScalarType.Float32).cpu());
            }

            return cat(chunks, 0).MoveToOuterDisposeScope();
        }
        finally
        {
            backbone.train(wasTraining);
        }
    }
}
