using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Objectives;

[TestFixture]
public sealed class MomentumAndQueueTests
{
    [Test]
    public void MomentumEncoder_StartsAsACopy_AndUpdateIsTheEmaFormula()
    {
        using var online = new SmallCnn(1, 16);
        using var target = online.CloneArchitecture();
        var encoder = new MomentumEncoder(online, target, momentum: 0.9);
        var onlineParams = online.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var targetParams = target.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.That(onlineParams.Keys.All(k => onlineParams[k].equal(targetParams[k]).all().item<bool>()), Is.True, "target starts equal");
        Assert.That(targetParams.Values.All(p => !p.requires_grad), Is.True, "target is frozen");

        var before = targetParams.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using (no_grad())
        {
            foreach (var p in onlineParams.Values)
            {
                p.add_(1.0f);
            }
        }

        encoder.Update();

        foreach (var (name, t) in targetParams)
        {
            var expected = (before[name] * 0.9) + (onlineParams[name].detach() * 0.1);
            Assert.That(t.allclose(expected, rtol: 0, atol: 1e-6), Is.True, name);
        }
    }

    [Test]
    public void MomentumEncoder_Update_CopiesBatchNormStatistics()
    {
        using var online = new SmallCnn(1, 16);
        using var target = online.CloneArchitecture();
        var encoder = new MomentumEncoder(online, target, 0.99);
        online.train();
        using (NewDisposeScope())
        {
            online.call(randn(4, 1, 8, 8));
        }

        encoder.Update();

        var o = online.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, buffer) in target.named_buffers())
        {
            Assert.That(buffer.equal(o[name]).all().item<bool>(), Is.True, name);
        }
    }

    [Test]
    public void KeyBranch_FromTheMomentumEncoder_GetsNoGradient()
    {
        using var online = new SmallCnn(1, 16);
        using var target = online.CloneArchitecture();
        _ = new MomentumEncoder(online, target, 0.99);
        using var scope = NewDisposeScope();
        var x1 = randn(4, 1, 8, 8);
        var x2 = randn(4, 1, 8, 8);

        var q = online.call(x1);
        var k = target.call(x2);
        new InfoNceLoss().Compute(q, k, negatives: randn(8, 16)).Mean.backward();

        Assert.That(online.parameters().All(p => p.grad is not null && p.grad.abs().sum().item<float>() > 0), Is.True, "online branch learns");
        Assert.That(target.parameters().All(p => p.grad is null), Is.True, "key branch gets no gradient");
        Assert.That(k.requires_grad, Is.False);
    }

    [Test]
    public void MomentumEncoder_DifferentArchitectures_AreRejected()
    {
        using var online = new SmallCnn(1, 16);
        using var target = new SmallCnn(1, 32);

        var e = Assert.Throws<ArgumentException>(() => _ = new MomentumEncoder(online, target));

        Assert.That(e!.Message, Does.Contain("features.0.conv.weight"));
    }

    [TestCase(-0.1)]
    [TestCase(1.5)]
    public void MomentumEncoder_MomentumOutOfRange_IsRejected(double m)
    {
        using var online = new SmallCnn(1, 16);
        using var target = online.CloneArchitecture();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new MomentumEncoder(online, target, m));
        Assert.That(e!.Message, Does.Contain("must lie in [0, 1]"));
    }

    [Test]
    public void NegativeQueue_WrapAround_KeepsExactlyTheNewestKKeys()
    {
        using var queue = new NegativeQueue(size: 5, dimension: 2, seed: 1);
        using var scope = NewDisposeScope();

        // Key number j is the row (j, −j); four batches of 3 write keys 0..11.
        for (int batch = 0; batch < 4; batch++)
        {
            var keys = stack(Enumerable.Range(batch * 3, 3).Select(j => tensor(new float[] { j, -j })).ToArray());
            queue.Enqueue(keys);
        }

        var held = queue.Keys.select(1, 0).data<float>().ToArray().Select(v => (int)v).OrderBy(v => v);
        Assert.That(held, Is.EqualTo(new[] { 7, 8, 9, 10, 11 }));
        Assert.That(queue.Pointer, Is.EqualTo(2));
        Assert.That(queue.Filled, Is.EqualTo(5));
        Assert.That(queue.Keys[2, 0].item<float>(), Is.EqualTo(7f), "the oldest key sits at the pointer, next to be overwritten");
    }

    [Test]
    public void NegativeQueue_StateRoundTrip_RestoresKeysAndCounters()
    {
        using var queue = new NegativeQueue(6, 3, seed: 2);
        using var scope = NewDisposeScope();
        queue.Enqueue(ones(4, 3));
        var state = queue.GetState();
        using var restored = new NegativeQueue(6, 3, seed: 99);

        restored.LoadState(state);

        Assert.That(restored.Keys.equal(queue.Keys).all().item<bool>(), Is.True);
        Assert.That((restored.Pointer, restored.Filled), Is.EqualTo((4L, 4L)));
    }

    [Test]
    public void NegativeQueue_InitialKeys_AreSeededUnitVectors()
    {
        using var a = new NegativeQueue(16, 8, seed: 3);
        using var b = new NegativeQueue(16, 8, seed: 3);

        Assert.That(a.Keys.equal(b.Keys).all().item<bool>(), Is.True);
        Assert.That(a.Keys.norm(1).allclose(ones(16), rtol: 0, atol: 1e-6), Is.True);
    }

    [Test]
    public void NegativeQueue_WrongKeyShape_IsRejected()
    {
        using var queue = new NegativeQueue(4, 3);
        using var scope = NewDisposeScope();

        var e = Assert.Throws<ArgumentException>(() => queue.Enqueue(zeros(5, 3)));

        Assert.That(e!.Message, Does.Contain("1 ≤ B ≤ 4").And.Contain("[5,3]"));
    }

    [TestCase(128, 300, 256)]
    [TestCase(128, 50_000, 4096)]
    [TestCase(256, 100, 256)]
    [TestCase(100, 4096, 4000)]
    public void NegativeQueue_DefaultSize_IsLargestBatchMultipleNotAboveMinOfCapAndN(int batch, int n, int expected)
    {
        Assert.That(NegativeQueue.DefaultSize(batch, n), Is.EqualTo(expected));
    }

    [Test]
    public void ProjectionHeads_HavePyTorchSequentialNamesAndShapes()
    {
        using var moco = ProjectionHead.MocoV2(512, 128);
        using var byol = ProjectionHead.Byol(512, 1024, 256);
        using var scope = NewDisposeScope();

        Assert.That(moco.state_dict().Keys, Is.EquivalentTo(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }));
        Assert.That(byol.state_dict().Keys, Does.Contain("1.running_mean").And.Contain("3.weight"));
        Assert.That(moco.call(randn(4, 512)).shape, Is.EqualTo(new long[] { 4, 128 }));
        Assert.That(byol.call(randn(4, 512)).shape, Is.EqualTo(new long[] { 4, 256 }));
    }
}
