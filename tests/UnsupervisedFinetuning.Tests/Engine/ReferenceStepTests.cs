using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Tests.Engine;

/// <summary>
/// The engine's MoCo v2 step against a hand-written step on the same seed and data: the batch order and the
/// views come from the run's documented random streams, the rest is MoCo's loop written out — query
/// through backbone + head, keys through the EMA copies without gradients, InfoNCE against the queue, SGD,
/// EMA, enqueue. Same losses and same weights after 3 steps.
/// </summary>
[TestFixture]
public sealed class ReferenceStepTests
{
    private const long Seed = 3;
    private const int Batch = 16;
    private const int Images = 48;
    private const double LearningRate = 0.05;

    [Test]
    public void EngineMocoV2Steps_MatchAHandWrittenLoop()
    {
        using var target = EngineTestData.Images(Images, seed: 21);
        using var engineBackbone = EngineTestData.Model(seed: 5);
        using var referenceBackbone = EngineTestData.Model(seed: 5);
        using var engineHead = new ProjectionHead(32, 32, 16, batchNorm: false);
        using var referenceHead = engineHead.CloneArchitecture();
        referenceHead.load_state_dict(engineHead.state_dict());

        // Engine: constant learning rate (no warm-up, minimum = peak), SGD momentum 0.9, weight decay 1e-4.
        var options = EngineTestData.Options(steps: 3);
        options.WarmupFraction = 0;
        options.MinLearningRate = LearningRate;
        options.TrimNativeMemoryEverySteps = null;
        var engineLosses = new List<double>();
        var result = FinetuneEngine.Create(options, new MocoV2(new MocoV2Options { Temperature = 0.2, Momentum = 0.99 }))
            .Run(new FinetuneRequest { Backbone = engineBackbone, Head = engineHead, Target = target }, new SynchronousProgress<FinetuneProgress>(p => engineLosses.Add(p.Loss)));

        var referenceLosses = ReferenceLoop(target, referenceBackbone, referenceHead, steps: 3);

        Assert.That(result.Steps, Is.EqualTo(3));
        Assert.That(engineLosses, Is.EqualTo(referenceLosses).Within(1e-6));
        AssertClose(engineBackbone, referenceBackbone, "backbone");
        AssertClose(engineHead, referenceHead, "head");
    }

    private static List<double> ReferenceLoop(UnsupervisedFinetuning.Data.IImageDataset data, UnsupervisedFinetuning.Backbones.Backbone backbone, ProjectionHead head, int steps)
    {
        var root = new SeededRandom(Seed);
        int[] order = root.Fork("replay").Permutation(Images);                 // one epoch's shuffle, cut into batches of 16
        var augmentRandom = root.Fork("augment");
        var augmentation = AugmentationPresets.SmallImage(16, channels: 1);   // what Auto picks at 16 px for 1 channel
        using var keyBackbone = backbone.CloneArchitecture();
        using var keyHead = head.CloneArchitecture();
        var backboneEma = new MomentumEncoder(backbone, keyBackbone, 0.99);
        var headEma = new MomentumEncoder(head, keyHead, 0.99);
        using var queue = new NegativeQueue(NegativeQueue.DefaultSize(Batch, Images), 16, CPU, seed: Seed); // K = 48
        var loss = new InfoNceLoss(0.2);
        using var sgd = optim.SGD(backbone.parameters().Concat(head.parameters()), LearningRate, momentum: 0.9, weight_decay: 1e-4);
        foreach (var module in new nn.Module[] { backbone, head, keyBackbone, keyHead })
        {
            module.train();
        }

        var losses = new List<double>();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var images = data.GetBatch(order.AsSpan(step * Batch, Batch));
            var (view1, view2) = augmentation.Apply(images, augmentRandom);
            var q = head.call(backbone.call(view1));
            Tensor k;
            using (no_grad())
            {
                k = keyHead.call(keyBackbone.call(view2));
            }

            var value = loss.Compute(q, k, queue.Keys).Mean;
            losses.Add(value.item<float>());
            sgd.zero_grad();
            value.backward();
            sgd.step();
            backboneEma.Update();
            headEma.Update();
            using (no_grad())
            {
                queue.Enqueue(F.normalize(k, dim: 1));
            }
        }

        return losses;
    }

    private static void AssertClose(nn.Module actual, nn.Module expected, string what)
    {
        var a = actual.state_dict();
        var e = expected.state_dict();
        Assert.That(a.Keys, Is.EqualTo(e.Keys), what);
        foreach (var key in a.Keys)
        {
            double difference = (a[key].to(ScalarType.Float64) - e[key].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.That(difference, Is.LessThanOrEqualTo(1e-6), $"{what}.{key}");
        }
    }
}
