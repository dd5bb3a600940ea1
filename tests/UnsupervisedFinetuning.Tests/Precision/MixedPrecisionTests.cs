using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Tests.Engine;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Tests.Precision;

/// <summary>
/// Mixed precision: convolutions and linear layers in bfloat16, everything that accumulates (parameters,
/// gradients, batch-norm statistics, losses) in float32. Correctness only: speed is hardware-dependent and
/// measured by the precision benchmark.
/// </summary>
public class MixedPrecisionTests
{
    // bfloat16 keeps 8 significant bits: round-to-nearest moves a value by at most 2^-9 of itself.
    private const double BFloat16Epsilon = 1.0 / 512;

    [Test]
    public void Conv2d_InABFloat16Region_EqualsFloat32ConvolutionOfRoundedOperands_RoundedOnce()
    {
        // Naive reference: round input, weight and bias to bfloat16 (exactly representable in float32), convolve
        // in float64, round the result to bfloat16. libtorch accumulates in float32, so allow a few ulps.
        random.manual_seed(5);
        using var conv = nn.Conv2d(3, 4, kernel_size: 3, stride: 2, padding: 1);
        using var input = randn(2, 3, 9, 9);
        Tensor output;
        using (Autocast.Enter(ScalarType.BFloat16))
        {
            output = Autocast.Conv2d(conv, input);
        }

        static Tensor Round(Tensor t) => t.to(ScalarType.BFloat16).to(ScalarType.Float64);
        using var reference = F.conv2d(Round(input), Round(conv.weight!), Round(conv.bias!), [2, 2], [1, 1]).to(ScalarType.BFloat16).to(ScalarType.Float64);

        Assert.That(output.dtype, Is.EqualTo(ScalarType.BFloat16));
        double worst = (output.to(ScalarType.Float64) - reference).abs().max().item<double>();
        double scale = reference.abs().max().item<double>();
        Assert.That(worst, Is.LessThanOrEqualTo(4 * BFloat16Epsilon * scale), "within a few bfloat16 ulps of the largest output");
    }

    [Test]
    public void Linear_OutsideARegion_IsTheModuleItself_BitForBit()
    {
        random.manual_seed(6);
        using var linear = nn.Linear(5, 3);
        using var input = randn(4, 5);
        using var plain = linear.call(input);
        using var routed = Autocast.Linear(linear, input);
        Assert.That(routed.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(routed.equal(plain).all().item<bool>(), Is.True);
    }

    [Test]
    public void BackwardThroughABFloat16Network_GivesFloat32GradientsCloseToFloat32Ones_AndFloat32Statistics()
    {
        using var model = EngineTestData.Model(seed: 3);
        using var head = new ProjectionHead(32, 32, 16, batchNorm: false);
        using var images = randn(32, 1, 16, 16);
        using var goal = randn(32, 16);
        model.train();
        head.train();

        Dictionary<string, Tensor> Gradients(ScalarType? computeType)
        {
            model.zero_grad();
            head.zero_grad();
            using (Autocast.Enter(computeType))
            {
                var embedding = head.call(model.call(images));
                Assert.That(embedding.dtype, Is.EqualTo(ScalarType.Float32), "the head hands the loss float32");
                (embedding - goal).pow(2).sum().backward(); // a per-sample gradient that batch norm does not cancel
            }

            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }

        var float32 = Gradients(null);
        var bfloat16 = Gradients(ScalarType.BFloat16);
        foreach (var (name, gradient) in bfloat16)
        {
            Assert.That(gradient.dtype, Is.EqualTo(ScalarType.Float32), name);
            double cosine = F.cosine_similarity(gradient.flatten().unsqueeze(0), float32[name].flatten().unsqueeze(0)).item<float>();
            // Measured 0.976–0.998: bfloat16 activation gradients lose a little in batch norm's backward, which
            // subtracts the batch means of the gradient. A dropped or misrouted gradient would be near 0.
            Assert.That(cosine, Is.GreaterThan(0.95), $"{name}: bfloat16 gradient direction");
        }

        Assert.That(model.parameters().Concat(model.buffers()).All(t => t.dtype is ScalarType.Float32 or ScalarType.Int64), Is.True, "parameters and batch-norm statistics stay float32");
    }

    [TestCase(ResNetDepth.ResNet18)]
    [TestCase(ResNetDepth.ResNet50)]
    public void ResNet_InABFloat16Region_ReturnsFloat32FeaturesAndGradientsCloseToFloat32(ResNetDepth depth)
    {
        // The ImageNet stem (max pool), residual additions, downsampling shortcuts and, for ResNet-50, bottlenecks.
        random.manual_seed(9);
        using var model = new ResNet(depth, ResNetStem.ImageNet, inputChannels: 3, width: 8);
        using var images = randn(6, 3, 32, 32);
        using var goal = randn(6, model.FeatureDimension);
        // Eval mode: batch norm is the affine map of its running statistics, so the comparison measures the casts.
        // In training mode a freshly initialised deep network's batch statistics cancel catastrophically (large
        // means, small variances over 6 images), and bfloat16 activations then move small gradients arbitrarily —
        // true of torch.autocast as well; the SmallCnn test above covers training mode where it is well conditioned.
        model.eval();
        Dictionary<string, Tensor> Gradients(ScalarType? computeType)
        {
            model.zero_grad();
            using (Autocast.Enter(computeType))
            {
                var features = model.ForwardFeatures(images);
                Assert.That(features.dtype, Is.EqualTo(ScalarType.Float32), "features leave the region in float32");
                (features - goal).pow(2).sum().backward();
            }

            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }

        var float32 = Gradients(null);
        var bfloat16 = Gradients(ScalarType.BFloat16);
        Assert.That(bfloat16.Values.All(g => g.dtype == ScalarType.Float32), Is.True);
        var worst = bfloat16.Select(kv => (kv.Key, Cosine: F.cosine_similarity(kv.Value.flatten().unsqueeze(0), float32[kv.Key].flatten().unsqueeze(0)).item<float>())).MinBy(c => c.Cosine);
        // Measured worst layer: 0.996 (ResNet-18), 0.949 (ResNet-50, whose 16 blocks compound the rounding of the
        // gradient flowing back to conv1). A dropped or misrouted gradient would be near 0.
        Assert.That(worst.Cosine, Is.GreaterThan(depth == ResNetDepth.ResNet18 ? 0.99 : 0.9), $"{worst.Key}: bfloat16 gradient direction");
    }

    [Test]
    public void BatchNorm_TakesBFloat16Input_ReturnsBFloat16_AndKeepsFloat32Statistics()
    {
        // The libtorch behaviour the design relies on: no casts around batch norm.
        using var norm = nn.BatchNorm2d(4);
        norm.train();
        using var input = randn(8, 4, 5, 5).to(ScalarType.BFloat16);
        using var output = norm.call(input);
        Assert.That(output.dtype, Is.EqualTo(ScalarType.BFloat16));
        Assert.That((norm.running_mean!.dtype, norm.running_var!.dtype, norm.weight!.dtype), Is.EqualTo((ScalarType.Float32, ScalarType.Float32, ScalarType.Float32)));
        Assert.That(norm.running_mean.abs().sum().item<float>(), Is.GreaterThan(0), "the statistics were updated");
    }

    [Test]
    public void Regions_Nest_AndRestoreTheEnclosingOneEvenWhenLeftByAnException()
    {
        Assert.That(Autocast.ComputeType, Is.Null);
        using (Autocast.Enter(ScalarType.BFloat16))
        {
            using (Autocast.Enter(null))
            {
                Assert.That(Autocast.ComputeType, Is.Null);
            }

            Assert.That(Autocast.ComputeType, Is.EqualTo(ScalarType.BFloat16));
            Assert.Throws<InvalidOperationException>(() =>
            {
                using var inner = Autocast.Enter(ScalarType.Float16);
                throw new InvalidOperationException("fails inside");
            });
            Assert.That(Autocast.ComputeType, Is.EqualTo(ScalarType.BFloat16));
        }

        Assert.That(Autocast.ComputeType, Is.Null);
    }

    [TestCase(MethodKind.SimClr)]
    [TestCase(MethodKind.Byol)]
    [TestCase(MethodKind.SimSiam)]
    public void EveryMethod_TrainsInBFloat16_WithFiniteLossesAndFloat32Weights(MethodKind kind)
    {
        using var target = EngineTestData.Images(32, seed: 5);
        using var model = EngineTestData.Model(seed: 2);
        var before = EngineTestData.Snapshot(model);
        var options = EngineTestData.Options(steps: 2);
        options.Precision = ComputePrecision.BFloat16;
        var result = EngineTestData.Engine(options, kind).Run(new FinetuneRequest { Backbone = model, Target = target });
        var after = EngineTestData.Snapshot(model);
        Assert.That(result.History.All(e => double.IsFinite(e.MeanLoss)), Is.True);
        Assert.That(after.Values.All(t => t.dtype is ScalarType.Float32 or ScalarType.Int64), Is.True);
        Assert.That(EngineTestData.BitEqual(before, after), Is.False, "the step trained the backbone");
    }

    [Test]
    public void ACheckpointFromBeforeMixedPrecision_ResumesAsFloat32()
    {
        // Checkpoints written before this option have no Precision in their settings: they computed in float32.
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 6);
        var options = EngineTestData.Options(steps: 4);
        options.CheckpointDirectory = dir.Path;
        using var straight = EngineTestData.Model(seed: 11);
        EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = straight, Target = target });
        var expected = EngineTestData.Snapshot(straight);

        using var interrupted = EngineTestData.Model(seed: 11);
        using var cts = new CancellationTokenSource();
        var cancelAt2 = new SynchronousProgress<FinetuneProgress>(p => { if (p.Step == 2) { cts.Cancel(); } });
        Assert.Throws<OperationCanceledException>(() => EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = interrupted, Target = target }, cancelAt2, cts.Token));
        string checkpoint = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        int removed = RemoveFingerprintEntries(checkpoint, "Precision", "Monitoring.Precision");
        Assert.That(removed, Is.EqualTo(2), "the checkpoint now looks like one from before mixed precision");

        using var resumed = EngineTestData.Model(seed: 99);
        EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = checkpoint });
        Assert.That(EngineTestData.BitEqual(expected, EngineTestData.Snapshot(resumed)), Is.True);
    }

    [TestCase(0.2)]
    [TestCase(0.07)]
    public void InfoNce_OnBFloat16RoundedEmbeddings_StaysWithinTheRoundingBound(double temperature)
    {
        // The loss is computed in float32 from embeddings that a bfloat16 head produced: each element carries a
        // relative rounding error ≤ ε = 2^-9, so each cosine moves by ≤ 4ε and each logit by ≤ 4ε/τ; the loss
        // (−positive + log-sum-exp, both 1-Lipschitz in the largest logit change) by ≤ 8ε/τ.
        random.manual_seed(7);
        using var q = randn(64, 128);
        using var k = randn(64, 128);
        using var negatives = F.normalize(randn(512, 128), dim: 1);
        var loss = new InfoNceLoss(temperature);
        double exact = loss.Compute(q, k, negatives).Mean.item<float>();
        double rounded = loss.Compute(RoundTrip(q), RoundTrip(k), RoundTrip(negatives)).Mean.item<float>();
        Assert.That(Math.Abs(rounded - exact), Is.LessThanOrEqualTo(8 * BFloat16Epsilon / temperature));
    }

    [Test]
    public void NtXentAndByol_OnBFloat16RoundedEmbeddings_StayWithinTheRoundingBound()
    {
        random.manual_seed(8);
        using var q = randn(32, 64);
        using var k = randn(32, 64);
        var ntXent = new NtXentLoss(0.5);
        Assert.That(Math.Abs(ntXent.Compute(RoundTrip(q), RoundTrip(k)).Mean.item<float>() - ntXent.Compute(q, k).Mean.item<float>()), Is.LessThanOrEqualTo(8 * BFloat16Epsilon / 0.5));
        var byol = new ByolLoss();
        Assert.That(Math.Abs(byol.Compute(RoundTrip(q), RoundTrip(k)).Mean.item<float>() - byol.Compute(q, k).Mean.item<float>()), Is.LessThanOrEqualTo(2 * 4 * BFloat16Epsilon), "2 − 2·cos: twice the cosine's bound");
    }

    [TestCase(ComputePrecision.BFloat16)]
    [TestCase(ComputePrecision.Float16)]
    public void FeatureExtraction_InLowerPrecision_ReturnsFloat32FeaturesCloseToFloat32Ones(ComputePrecision precision)
    {
        using var model = EngineTestData.Model(seed: 4);
        using var images = EngineTestData.Images(24, seed: 2);
        static Tensor Preprocess(Tensor x) => x.to(ScalarType.Float32).div(255);
        using var exact = FeatureExtractor.Extract(model, images, Preprocess, batchSize: 10);
        using var lower = FeatureExtractor.Extract(model, images, Preprocess, batchSize: 10, precision);
        Assert.That(lower.dtype, Is.EqualTo(ScalarType.Float32));
        using var cosine = F.cosine_similarity(lower, exact);
        Assert.That(cosine.min().item<float>(), Is.GreaterThan(0.99), "every image's feature direction");
        Assert.That(model.training, Is.True, "the backbone's mode is restored");
    }

    [Test]
    public void Float16Training_IsRefused_NamingLossScaling()
    {
        var options = EngineTestData.Options();
        options.Precision = ComputePrecision.Float16;
        var e = Assert.Throws<OptionsValidationException>(() => FinetuneEngine.Create(options));
        Assert.That(e!.Message, Does.Contain("Precision").And.Contain("Float16").And.Contain("loss scaling"));
    }

    [Test]
    public void BFloat16Run_ResumesBitIdentically_KeepsFloat32Weights_AndRefusesAFloat32Resume()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 6);
        FinetuneOptions Options(ComputePrecision precision)
        {
            var o = EngineTestData.Options(steps: 6);
            o.CheckpointDirectory = dir.Path;
            o.Precision = precision;
            return o;
        }

        using var straight = EngineTestData.Model(seed: 11);
        var logger = new EngineLogger();
        var straightResult = FinetuneEngine.Create(Options(ComputePrecision.BFloat16), EngineTestData.Method(MethodKind.MocoV2), logger: logger)
            .Run(new FinetuneRequest { Backbone = straight, Target = target });
        var expected = EngineTestData.Snapshot(straight);
        Assert.That(expected.Values.All(t => t.dtype is ScalarType.Float32 or ScalarType.Int64), Is.True, "master weights stay float32");
        Assert.That(logger.Entries.Any(e => e.Message.Contains("compute in BFloat16")), Is.True, "the log says which precision was used");

        using var float32 = EngineTestData.Model(seed: 11);
        FinetuneEngine.Create(Options(ComputePrecision.Float32), EngineTestData.Method(MethodKind.MocoV2)).Run(new FinetuneRequest { Backbone = float32, Target = target });
        Assert.That(EngineTestData.BitEqual(expected, EngineTestData.Snapshot(float32)), Is.False, "bfloat16 is really used: it changes the trajectory");

        // bfloat16 again, cancelled after step 3 and resumed into another model: the same bits as the straight run.
        using var interrupted = EngineTestData.Model(seed: 11);
        using var cts = new CancellationTokenSource();
        var cancelAt3 = new SynchronousProgress<FinetuneProgress>(p => { if (p.Step == 3) { cts.Cancel(); } });
        Assert.Throws<OperationCanceledException>(() => FinetuneEngine.Create(Options(ComputePrecision.BFloat16), EngineTestData.Method(MethodKind.MocoV2))
            .Run(new FinetuneRequest { Backbone = interrupted, Target = target }, cancelAt3, cts.Token));
        string checkpoint = Path.Combine(dir.Path, EngineCheckpoint.FileName);

        using var wrong = EngineTestData.Model(seed: 99);
        var untouched = EngineTestData.Snapshot(wrong);
        var refused = Assert.Throws<InvalidDataException>(() => FinetuneEngine.Create(Options(ComputePrecision.Float32), EngineTestData.Method(MethodKind.MocoV2))
            .Run(new FinetuneRequest { Backbone = wrong, Target = target, ResumeFrom = checkpoint }));
        Assert.That(refused!.Message, Does.Contain("Precision = BFloat16").And.Contain("Precision = Float32"));
        Assert.That(EngineTestData.BitEqual(untouched, EngineTestData.Snapshot(wrong)), Is.True, "a refused resume changes nothing");

        using var resumed = EngineTestData.Model(seed: 99);
        var resumedResult = FinetuneEngine.Create(Options(ComputePrecision.BFloat16), EngineTestData.Method(MethodKind.MocoV2))
            .Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = checkpoint });
        Assert.That(resumedResult.Steps, Is.EqualTo(6));
        Assert.That(EngineTestData.BitEqual(expected, EngineTestData.Snapshot(resumed)), Is.True, "backbone weights and BatchNorm statistics");
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(straightResult.Head), EngineTestData.Snapshot(resumedResult.Head)), Is.True, "head weights");
    }

    [Test]
    public void CpuFeatureDetection_AgreesWithTheKernelsCpuFlags()
    {
        // The kernel's own reading of CPUID is the independent reference (Linux only).
        if (!File.Exists("/proc/cpuinfo"))
        {
            Assert.Ignore("No /proc/cpuinfo to compare with on this operating system.");
        }

        string flagsLine = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        var flags = flagsLine.Split([' ', '\t', ':'], StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        bool avx512 = flags.Contains("avx512f");
        Assert.That(CpuFeatures.Avx512BFloat16, Is.EqualTo(avx512 && flags.Contains("avx512_bf16")), "AVX-512 BF16");
        Assert.That(CpuFeatures.AmxBFloat16, Is.EqualTo(avx512 && flags.Contains("amx_bf16")), "AMX-BF16");
        var cpu = CPU;
        // Native bfloat16 needs the hardware and libtorch's oneDNN kernels (off where NativeKernels found them defective).
        bool native = (CpuFeatures.Avx512BFloat16 || CpuFeatures.AmxBFloat16) && NativeKernels.OneDnnEnabled;
        Assert.That(ComputePrecisions.Resolve(ComputePrecision.Auto, cpu), Is.EqualTo(native ? ComputePrecision.BFloat16 : ComputePrecision.Float32));
        Assert.That(ComputePrecisions.Resolve(ComputePrecision.BFloat16, cpu), Is.EqualTo(ComputePrecision.BFloat16), "an explicit choice is kept");
    }

    private static Tensor RoundTrip(Tensor t) => t.to(ScalarType.BFloat16).to(ScalarType.Float32);

    /// <summary>Rewrites a checkpoint's JSON header without the given fingerprint keys; returns how many it removed.</summary>
    private static int RemoveFingerprintEntries(string path, params string[] keys)
    {
        byte[] bytes = File.ReadAllBytes(path);
        string magic, header;
        int version;
        long rest;
        using (var reader = new BinaryReader(new MemoryStream(bytes)))
        {
            magic = reader.ReadString();
            version = reader.ReadInt32();
            header = reader.ReadString();
            rest = reader.BaseStream.Position;
        }

        var root = System.Text.Json.Nodes.JsonNode.Parse(header)!.AsObject();
        int removed = 0;
        foreach (var (_, value) in root.ToList())
        {
            if (value is System.Text.Json.Nodes.JsonObject map)
            {
                removed += keys.Count(map.Remove);
            }
        }

        using var output = new MemoryStream();
        using (var writer = new BinaryWriter(output, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(magic);
            writer.Write(version);
            writer.Write(root.ToJsonString());
        }

        output.Write(bytes, (int)rest, bytes.Length - (int)rest);
        File.WriteAllBytes(path, EngineCheckpoint.Restamp(output.ToArray()));
        return removed;
    }

    private sealed class EngineLogger : ILogger<FinetuneEngine>
    {
        private readonly ListLogger _inner = new();

        public List<(LogLevel Level, string Message)> Entries => _inner.Entries;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
