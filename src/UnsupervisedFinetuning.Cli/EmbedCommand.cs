using TorchSharp;
using System.CommandLine;
using Spectre.Console;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// <c>uft embed</c>: the backbone's features of every image of a folder or manifest, in the model's evaluation
/// transform, written to <c>.npy</c> (with the image paths beside it in <c>&lt;name&gt;.paths.txt</c>) or <c>.csv</c>.
/// Batch by batch: memory holds one batch, whatever the number of images.
/// </summary>
internal static class EmbedCommand
{
    public static Command Create(IAnsiConsole console, CancellationToken stop, UftCatalogs? catalogs = null)
    {
        catalogs ??= UftCatalogs.BuiltIn;
        var model = new ModelArguments(architectures: catalogs.Architectures);
        var images = new Option<string?>("--images") { Description = $"Images to embed: a folder (any depth) or a manifest (.txt/.csv) {ModelArguments.Required}" };
        var output = new Option<string?>("--out") { Description = $"features.npy (N × D float32, numpy.load reads it; paths in features.paths.txt) or features.csv (path, f0, …) {ModelArguments.Required}" };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 256 };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => TorchDevices.Auto };
        var precision = new Option<string>("--precision") { Description = "float32, bfloat16, float16 or auto: the dtype the backbone's convolutions compute in (features are written as float32); auto takes bfloat16 where the device computes it natively", DefaultValueFactory = _ => "float32" };
        var skip = new Option<bool>("--skip-unreadable") { Description = "Leave out (and log) files that cannot be decoded instead of stopping" };
        var threads = ThreadsArgument.Create();
        var command = new Command("embed", "Write a backbone's features of a folder of images to .npy or .csv.");
        foreach (var option in model.All.Concat([images, output, batch, device, precision, skip, threads]))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            string imagesPath = parse.GetValue(images) ?? throw new UsageException("--images is required: a folder or a manifest of images.");
            string outPath = parse.GetValue(output) ?? throw new UsageException("--out is required: a .npy or .csv file.");
            if (!FeatureFile.IsSupported(outPath))
            {
                throw new UsageException($"--out {outPath}: expected a .npy or .csv file.");
            }

            OutputPaths.WritableFile(outPath, "--out"); // before the model loads: creates feats/ for feats/x.npy

            int batchSize = parse.GetValue(batch);
            if (batchSize is < 1 or > 65536)
            {
                throw new UsageException($"--batch-size is {batchSize}; expected 1 to 65536.");
            }

            var computePrecision = OptionValues.ParsePrecision(parse.GetValue(precision)!, training: false);
            using var threadCount = ThreadsArgument.Apply(parse.GetValue(threads), out int threadsUsed);
            using var pretrained = model.Load(parse);
            pretrained.Backbone.to(TorchDevices.Resolve(parse.GetValue(device)));
            var options = pretrained.ImageFolderOptions();
            options.SkipUnreadable = parse.GetValue(skip);
            options.DecodeThreads = threadsUsed;
            var data = DataArguments.Unlabeled(imagesPath, "--images", options, new WarningLogger(parse.InvocationConfiguration.Error), catalogs.Sources);
            if (options.SkipUnreadable)
            {
                // Files that fail only when decoded would be replaced by a neighbour in a batch; for embedding, a row
                // must be its own file, so such files are dropped here by decoding the index once up front.
                data = data.WithoutUnreadable();
            }

            int dimension = pretrained.Backbone.FeatureDimension;
            using (var file = new FeatureFile(outPath, data.Count, dimension))
            {
                for (int start = 0; start < data.Count; start += batchSize)
                {
                    stop.ThrowIfCancellationRequested();
                    int count = Math.Min(batchSize, data.Count - start);
                    int[] rows = Enumerable.Range(start, count).ToArray();
                    using var features = FeatureExtractor.Extract(pretrained.Backbone, data.Subset(rows), pretrained.Preprocess, batchSize, computePrecision); // [count, D] float32, CPU
                    file.Append(features.contiguous().data<float>().ToArray(), rows.Select(r => data.NameOf(r)).ToArray());
                }

                file.Complete();
            }

            if (!outPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            {
                string paths = Path.ChangeExtension(outPath, ".paths.txt");
                File.WriteAllLines(paths + ".tmp", Enumerable.Range(0, data.Count).Select(data.NameOf));
                File.Move(paths + ".tmp", paths, overwrite: true);
            }

            console.MarkupLineInterpolated($"embedded {data.Count} images → {outPath} ({data.Count} × {dimension} float32)");
            return ExitCodes.Success;
        });
        return command;
    }
}
