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
    /// <param name="precision">The dtype the backbone's convolutions compute in (<see cref="ComputePrecision.Auto"/>:
    /// bfloat16 where its device computes it natively); the features are float32 whatever it is.</param>
    public static Tensor Extract(Backbone backbone, IImageDataset data, Func<Tensor, Tensor> preprocess, int batchSize = 256, ComputePrecision precision = ComputePrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(preprocess);
        return ExtractViews(backbone, data, images => [preprocess(images)], batchSize, precision)[0];
    }

    /// <summary>
    /// Features of several views of every image: <paramref name="views"/> turns a uint8 batch into V inputs
    /// (e.g. two random augmentations); the result holds V tensors [N, D]. Batches are visited in dataset
    /// order, so a seeded <paramref name="views"/> draws its randomness reproducibly.
    /// </summary>
    internal static Tensor[] ExtractViews(Backbone backbone, IImageDataset data, Func<Tensor, Tensor[]> views, int batchSize, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(views);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!Enum.IsDefined(precision))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Float32, BFloat16, Float16 or Auto.");
        }

        var computeType = ComputePrecisions.ComputeType(ComputePrecisions.Resolve(precision, backbone.Device));
        bool wasTraining = backbone.training;
        backbone.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var region = Autocast.Enter(computeType);
            var device = backbone.Device;
            var chunks = new List<List<Tensor>>();
            for (int start = 0; start < data.Count; start += batchSize)
            {
                // One scope per batch: its images and activations are freed before the next batch; only the
                // [count, D] features move out to be concatenated.
                using var batchScope = NewDisposeScope();
                int count = Math.Min(batchSize, data.Count - start);
                int[] indices = Enumerable.Range(start, count).ToArray();
                var images = data.GetBatch(indices).to(device);
                var inputs = views(images);
                for (int v = 0; v < inputs.Length; v++)
                {
                    if (chunks.Count <= v)
                    {
                        chunks.Add([]);
                    }

                    chunks[v].Add(backbone.ForwardFeatures(inputs[v]).to(ScalarType.Float32).cpu().MoveToOuterDisposeScope());
                }
            }

            return chunks.Select(c => cat(c, 0).MoveToOuterDisposeScope()).ToArray();
        }
        finally
        {
            backbone.train(wasTraining);
        }
    }
}
