using TorchSharp;
using UnsupervisedFinetuning.Backbones;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// The Vision Transformer against naive references in float64: attention as explicit softmax(q·kᵀ/√d)·v per head, a
/// whole block with layer norms written out, and the position embedding's bicubic resizing as PyTorch defines it
/// (A = −0.75, half-pixel source coordinates from the scale factor, clamped borders).
/// </summary>
[TestFixture]
public sealed class VisionTransformerTests
{
    private static VisionTransformerOptions Tiny(int registers = 0, VisionTransformerFeature feature = VisionTransformerFeature.ClassToken) => new()
    {
        EmbedDimension = 8, Depth = 2, Heads = 2, PatchSize = 4, ImageSize = 16, RegisterTokens = registers, LayerScaleInit = 0.5, Feature = feature,
    };

    [Test]
    public void ParameterNames_AreDinoV2s()
    {
        using var vit = new VisionTransformer(Tiny(registers: 1));
        var names = vit.named_parameters().Select(p => p.name).ToList();

        Assert.That(names, Is.SupersetOf(new[]
        {
            "cls_token", "pos_embed", "register_tokens", "patch_embed.proj.weight", "patch_embed.proj.bias",
            "blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias", "blocks.0.attn.proj.weight",
            "blocks.0.attn.proj.bias", "blocks.0.ls1.gamma", "blocks.0.norm2.weight", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc2.bias",
            "blocks.1.ls2.gamma", "norm.weight", "norm.bias",
        }));
        Assert.That(names, Has.Count.EqualTo(5 + (2 * 14) + 2));
        Assert.That(vit.state_dict().Keys, Is.EquivalentTo(names), "the state dict holds each parameter once, by its DINOv2 name");
        Assert.That(vit.named_parameters().First(p => p.name == "pos_embed").parameter.shape, Is.EqualTo(new long[] { 1, 1 + 16, 8 }));
    }

    [Test]
    public void Attention_EqualsSoftmaxOfScaledDotProductsPerHead()
    {
        random.manual_seed(1);
        using var attention = new VisionTransformerBlock.SelfAttention(8, 2);
        attention.to(ScalarType.Float64);
        using var x = randn(2, 5, 8, dtype: ScalarType.Float64);
        using var noGrad = no_grad();

        using var actual = attention.call(x);
        var p = attention.named_parameters().ToDictionary(n => n.name, n => n.parameter);
        var expected = NaiveAttention(x, p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"], heads: 2);

        Assert.That(MaxDifference(actual, expected), Is.LessThan(1e-12));
    }

    [Test]
    public void Block_EqualsItsFormulaWrittenOut()
    {
        random.manual_seed(2);
        using var block = new VisionTransformerBlock(8, 2, 16, layerScaleInit: 0.3, dropPath: 0);
        block.to(ScalarType.Float64);
        using var noGrad = no_grad();
        foreach (var (_, parameter) in block.named_parameters())
        {
            parameter.add_(randn_like(parameter) * 0.1); // norms and gains away from 1 and 0, so a missing term shows
        }

        using var x = randn(2, 5, 8, dtype: ScalarType.Float64);
        using var actual = block.call(x);
        var p = block.named_parameters().ToDictionary(n => n.name, n => n.parameter);

        var h = Add(x, Scale(NaiveAttention(LayerNorm(x, p["norm1.weight"], p["norm1.bias"]), p["attn.qkv.weight"], p["attn.qkv.bias"], p["attn.proj.weight"], p["attn.proj.bias"], 2), p["ls1.gamma"]));
        var hidden = Gelu(Affine(LayerNorm(h, p["norm2.weight"], p["norm2.bias"]), p["mlp.fc1.weight"], p["mlp.fc1.bias"]));
        var expected = Add(h, Scale(Affine(hidden, p["mlp.fc2.weight"], p["mlp.fc2.bias"]), p["ls2.gamma"]));

        Assert.That(MaxDifference(actual, expected), Is.LessThan(1e-12));
    }

    [TestCase(3, 3, 0.1)]
    [TestCase(5, 5, 0.1)]
    [TestCase(2, 6, 0.1)]
    [TestCase(3, 5, 0.0)]
    public void PositionEmbedding_OfAnotherGrid_IsPyTorchsBicubicResize(int rows, int columns, double offset)
    {
        random.manual_seed(3);
        using var vit = new VisionTransformer(Tiny() with { InterpolateOffset = offset });
        using var noGrad = no_grad();
        using var actual = vit.PositionEmbedding(rows, columns);                           // [1,1+rows·columns,D]
        var stored = vit.named_parameters().First(p => p.name == "pos_embed").parameter.to(ScalarType.Float64);
        double[] flat = stored.data<double>().ToArray();                                    // [1,1+16,8]
        const int grid = 4, d = 8;

        Assert.That(actual.shape, Is.EqualTo(new long[] { 1, 1 + (rows * columns), d }));
        for (int c = 0; c < d; c++)
        {
            Assert.That(actual[0, 0, c].item<float>(), Is.EqualTo((float)flat[c]), "the class token's embedding is kept");
        }

        double scaleY = offset > 0 ? (rows + offset) / grid : (double)rows / grid;
        double scaleX = offset > 0 ? (columns + offset) / grid : (double)columns / grid;
        double worst = 0;
        for (int y = 0; y < rows; y++)
        {
            for (int x = 0; x < columns; x++)
            {
                for (int c = 0; c < d; c++)
                {
                    double expected = Bicubic((gy, gx) => flat[(1 + (gy * grid) + gx) * d + c], grid, y, x, scaleY, scaleX);
                    worst = Math.Max(worst, Math.Abs(actual[0, 1 + (y * columns) + x, c].item<float>() - expected));
                }
            }
        }

        Assert.That(worst, Is.LessThan(1e-6));
    }

    [Test]
    public void PositionEmbedding_OfTheStoredGrid_IsTheParameterItself()
    {
        using var vit = new VisionTransformer(Tiny());
        using var noGrad = no_grad();
        var stored = vit.named_parameters().First(p => p.name == "pos_embed").parameter;

        Assert.That(vit.PositionEmbedding(4, 4).equal(stored).all().item<bool>(), Is.True);
    }

    [Test]
    public void Features_AreTheNormedClassToken_OrWithTheMeanPatchToken_RegistersLeftOut()
    {
        random.manual_seed(4);
        using var vit = new VisionTransformer(Tiny(registers: 2, feature: VisionTransformerFeature.ClassTokenAndMeanPatch));
        vit.eval();
        using var noGrad = no_grad();
        using var images = randn(3, 3, 20, 12);                                             // a 5 × 3 grid: interpolated

        using var tokens = vit.ForwardTokens(images);
        using var features = vit.ForwardFeatures(images);

        Assert.That(tokens.shape, Is.EqualTo(new long[] { 3, 1 + 2 + 15, 8 }));
        Assert.That(features.shape, Is.EqualTo(new long[] { 3, 16 }));
        Assert.That(vit.FeatureDimension, Is.EqualTo(16));
        Assert.That(features.narrow(1, 0, 8).equal(tokens.select(1, 0)).all().item<bool>(), Is.True);
        Assert.That(MaxDifference(features.narrow(1, 8, 8), tokens.narrow(1, 3, 15).mean([1])), Is.LessThan(1e-6));
    }

    [Test]
    public void Training_GivesEveryUsedParameterAGradient()
    {
        random.manual_seed(5);
        using var vit = new VisionTransformer(Tiny(registers: 1) with { DropPathRate = 0.2 });
        vit.train();
        using var images = randn(4, 3, 16, 16);

        vit.ForwardFeatures(images).pow(2).sum().backward();

        var missing = vit.named_parameters().Where(p => p.parameter.grad is null || !p.parameter.grad.isfinite().all().item<bool>()).Select(p => p.name).ToList();
        Assert.That(missing, Is.Empty);
    }

    [Test]
    public void MovedToFloat64_AndInABFloat16Region_ItStillRuns_FeaturesLeavingInTheResidualStreamsDtype()
    {
        random.manual_seed(6);
        using var vit = new VisionTransformer(Tiny(registers: 1));
        vit.eval();
        using var noGrad = no_grad();
        using var images = randn(2, 3, 16, 16);
        using var float32 = vit.ForwardFeatures(images);
        Tensor bfloat16;
        using (Autocast.Enter(ScalarType.BFloat16))
        {
            bfloat16 = vit.ForwardFeatures(images);
        }

        vit.to(ScalarType.Float64); // the token parameters are fields: Module.to must put the moved ones back
        using var float64 = vit.ForwardFeatures(images.to(ScalarType.Float64));

        Assert.That(bfloat16.dtype, Is.EqualTo(ScalarType.Float32), "layer norms run in float32, so the features leave in float32");
        Assert.That(MaxDifference(bfloat16, float32), Is.LessThan(0.1), "bfloat16 keeps about 3 significant digits");
        Assert.That(float64.dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(MaxDifference(float64.to(ScalarType.Float32), float32), Is.LessThan(1e-5));
        bfloat16.Dispose();
    }

    [Test]
    public void BadOptionsAndImages_AreRefusedNamingThem()
    {
        var heads = Assert.Throws<ArgumentException>(() => new VisionTransformer(Tiny() with { Heads = 3 }));
        Assert.That(heads!.Message, Does.Contain("VisionTransformerOptions.Heads is 3; expected a positive divisor of EmbedDimension (8)"));
        var size = Assert.Throws<ArgumentException>(() => new VisionTransformer(Tiny() with { ImageSize = 18 }));
        Assert.That(size!.Message, Does.Contain("ImageSize is 18"));
        using var vit = new VisionTransformer(Tiny());
        var images = Assert.Throws<ArgumentException>(() => vit.ForwardFeatures(zeros(1, 3, 18, 16)));
        Assert.That(images!.Message, Does.Contain("multiples of the patch size 4").And.Contain("[1,3,18,16]"));
    }

    [TestCase("blocks.3.attn.qkv.weight", "blocks.3.attn.qkv.weight")]                  // the hub's backbones
    [TestCase("blocks.1.5.mlp.fc1.bias", "blocks.5.mlp.fc1.bias")]                        // training checkpoints: chunk 1, block 5
    [TestCase("teacher.backbone.blocks.0.0.ls1.gamma", "blocks.0.ls1.gamma")]
    [TestCase("mask_token", null)]
    [TestCase("dino_head.mlp.0.weight", null)]
    [TestCase("pos_embed", "pos_embed")]
    public void DinoV2Keys_MapHubAndTrainingCheckpoints(string key, string? expected) =>
        Assert.That(VisionTransformer.DinoV2Keys.Map(key), Is.EqualTo(expected));

    [TestCase("encoder.layers.encoder_layer_11.self_attention.in_proj_weight", "blocks.11.attn.qkv.weight")]
    [TestCase("encoder.layers.encoder_layer_0.mlp.linear_2.bias", "blocks.0.mlp.fc2.bias")]
    [TestCase("encoder.ln.weight", "norm.weight")]
    [TestCase("class_token", "cls_token")]
    [TestCase("blocks.1.5.mlp.fc1.bias", "blocks.5.mlp.fc1.bias")]
    public void AnyLayoutKeys_ReadTorchvisionAndDinoV2Names(string key, string expected) =>
        Assert.That(VisionTransformer.AnyLayoutKeys.Map(key), Is.EqualTo(expected));

    [Test]
    public void NamedSizes_HaveTheirPublishedShapes()
    {
        Assert.That(new[] { VisionTransformerOptions.Tiny(16), VisionTransformerOptions.Small(14), VisionTransformerOptions.Base(14), VisionTransformerOptions.Large(14) }
            .Select(o => (o.EmbedDimension, o.Depth, o.Heads, o.MlpHidden)), Is.EqualTo(new[] { (192, 12, 3, 768), (384, 12, 6, 1536), (768, 12, 12, 3072), (1024, 24, 16, 4096) }));
    }

    // ---- naive references, float64 ----

    private static double[,,] NaiveAttention(object x, Tensor qkvWeight, Tensor qkvBias, Tensor projWeight, Tensor projBias, int heads)
    {
        var input = ToArray(x);
        int b = input.GetLength(0), n = input.GetLength(1), d = input.GetLength(2), dh = d / heads;
        var qkv = Affine(input, qkvWeight, qkvBias);                                        // [B,N,3D]: q, then k, then v
        var mixed = new double[b, n, d];
        for (int s = 0; s < b; s++)
        {
            for (int h = 0; h < heads; h++)
            {
                for (int i = 0; i < n; i++)
                {
                    var scores = new double[n];
                    for (int j = 0; j < n; j++)
                    {
                        for (int c = 0; c < dh; c++)
                        {
                            scores[j] += qkv[s, i, (h * dh) + c] * qkv[s, j, d + (h * dh) + c];
                        }

                        scores[j] /= Math.Sqrt(dh);
                    }

                    double max = scores.Max();
                    double total = scores.Sum(v => Math.Exp(v - max));
                    for (int j = 0; j < n; j++)
                    {
                        double weight = Math.Exp(scores[j] - max) / total;
                        for (int c = 0; c < dh; c++)
                        {
                            mixed[s, i, (h * dh) + c] += weight * qkv[s, j, (2 * d) + (h * dh) + c];
                        }
                    }
                }
            }
        }

        return Affine(mixed, projWeight, projBias);
    }

    private static double[,,] Affine(object x, Tensor weight, Tensor bias)
    {
        var input = ToArray(x);
        var w = ToMatrix(weight);
        var bv = bias.to(ScalarType.Float64).data<double>().ToArray();
        int b = input.GetLength(0), n = input.GetLength(1), inputs = input.GetLength(2), outputs = bv.Length;
        var output = new double[b, n, outputs];
        for (int s = 0; s < b; s++)
        {
            for (int i = 0; i < n; i++)
            {
                for (int o = 0; o < outputs; o++)
                {
                    double sum = bv[o];
                    for (int k = 0; k < inputs; k++)
                    {
                        sum += w[o, k] * input[s, i, k];
                    }

                    output[s, i, o] = sum;
                }
            }
        }

        return output;
    }

    private static double[,,] LayerNorm(object x, Tensor weight, Tensor bias)
    {
        var input = ToArray(x);
        var g = weight.to(ScalarType.Float64).data<double>().ToArray();
        var beta = bias.to(ScalarType.Float64).data<double>().ToArray();
        int b = input.GetLength(0), n = input.GetLength(1), d = input.GetLength(2);
        var output = new double[b, n, d];
        for (int s = 0; s < b; s++)
        {
            for (int i = 0; i < n; i++)
            {
                double mean = 0, variance = 0;
                for (int c = 0; c < d; c++)
                {
                    mean += input[s, i, c] / d;
                }

                for (int c = 0; c < d; c++)
                {
                    variance += (input[s, i, c] - mean) * (input[s, i, c] - mean) / d; // biased, as LayerNorm
                }

                for (int c = 0; c < d; c++)
                {
                    output[s, i, c] = ((input[s, i, c] - mean) / Math.Sqrt(variance + 1e-6) * g[c]) + beta[c];
                }
            }
        }

        return output;
    }

    // GELU(x) = x·Φ(x) = ½·x·(1 + erf(x/√2)), erf by its Maclaurin series (exact to double precision for the |x| < 4 here).
    private static double[,,] Gelu(double[,,] x) => Map(x, v => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))));

    private static double Erf(double z)
    {
        Assert.That(Math.Abs(z), Is.LessThan(4), "the series is used where it converges quickly");
        double term = z, sum = z;
        for (int k = 1; k < 200; k++)
        {
            term *= -z * z / k;
            sum += term / ((2 * k) + 1);
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    private static double[,,] Scale(double[,,] x, Tensor gamma)
    {
        var g = gamma.to(ScalarType.Float64).data<double>().ToArray();
        var output = (double[,,])x.Clone();
        for (int s = 0; s < x.GetLength(0); s++)
        {
            for (int i = 0; i < x.GetLength(1); i++)
            {
                for (int c = 0; c < x.GetLength(2); c++)
                {
                    output[s, i, c] *= g[c];
                }
            }
        }

        return output;
    }

    private static double[,,] Add(object a, double[,,] b)
    {
        var left = ToArray(a);
        var output = (double[,,])left.Clone();
        for (int s = 0; s < b.GetLength(0); s++)
        {
            for (int i = 0; i < b.GetLength(1); i++)
            {
                for (int c = 0; c < b.GetLength(2); c++)
                {
                    output[s, i, c] += b[s, i, c];
                }
            }
        }

        return output;
    }

    private static double[,,] Map(double[,,] x, Func<double, double> f)
    {
        var output = new double[x.GetLength(0), x.GetLength(1), x.GetLength(2)];
        for (int s = 0; s < x.GetLength(0); s++)
        {
            for (int i = 0; i < x.GetLength(1); i++)
            {
                for (int c = 0; c < x.GetLength(2); c++)
                {
                    output[s, i, c] = f(x[s, i, c]);
                }
            }
        }

        return output;
    }

    // PyTorch's bicubic (align_corners false, a scale factor given): source = (destination + ½)/scale − ½, Keys' kernel
    // with A = −0.75 over the four neighbours, indices clamped to the grid.
    private static double Bicubic(Func<int, int, double> at, int grid, int y, int x, double scaleY, double scaleX)
    {
        static double[] Weights(double t)
        {
            const double a = -0.75;
            static double Near(double s) => ((((a + 2) * s) - (a + 3)) * s * s) + 1;
            static double Far(double s) => ((((a * s) - (5 * a)) * s) + (8 * a)) * s - (4 * a);
            return [Far(t + 1), Near(t), Near(1 - t), Far(2 - t)];
        }

        double sy = ((y + 0.5) / scaleY) - 0.5, sx = ((x + 0.5) / scaleX) - 0.5;
        int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
        var wy = Weights(sy - y0);
        var wx = Weights(sx - x0);
        double sum = 0;
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                sum += wy[i] * wx[j] * at(Math.Clamp(y0 - 1 + i, 0, grid - 1), Math.Clamp(x0 - 1 + j, 0, grid - 1));
            }
        }

        return sum;
    }

    private static double[,,] ToArray(object x)
    {
        if (x is double[,,] array)
        {
            return array;
        }

        var tensor = ((Tensor)x).to(ScalarType.Float64);
        var values = tensor.data<double>().ToArray();
        int b = (int)tensor.shape[0], n = (int)tensor.shape[1], d = (int)tensor.shape[2];
        var output = new double[b, n, d];
        Buffer.BlockCopy(values, 0, output, 0, values.Length * sizeof(double));
        return output;
    }

    private static double[,] ToMatrix(Tensor weight)
    {
        var values = weight.to(ScalarType.Float64).data<double>().ToArray();
        var output = new double[weight.shape[0], weight.shape[1]];
        Buffer.BlockCopy(values, 0, output, 0, values.Length * sizeof(double));
        return output;
    }

    private static double MaxDifference(Tensor actual, double[,,] expected)
    {
        var a = ToArray(actual);
        double worst = 0;
        for (int s = 0; s < a.GetLength(0); s++)
        {
            for (int i = 0; i < a.GetLength(1); i++)
            {
                for (int c = 0; c < a.GetLength(2); c++)
                {
                    worst = Math.Max(worst, Math.Abs(a[s, i, c] - expected[s, i, c]));
                }
            }
        }

        return worst;
    }

    private static double MaxDifference(Tensor actual, Tensor expected) => (actual - expected).abs().max().item<float>();
}
