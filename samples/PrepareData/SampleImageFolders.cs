using SkiaSharp;
using UnsupervisedFinetuning;
using UnsupervisedFinetuning.Data;

/// <summary>
/// Small folders of PNG files drawn from the IDX sets, so that the uft tool (which reads image folders) has
/// shipped data to run on: images/digits (300 unlabelled MNIST digits, the target), images/digits-labelled
/// (30 other digits per class, for evaluation), images/fashion0to4 (500 Fashion-MNIST training images of
/// classes 0–4, the replay source) and images/fashion0to4-labelled (30 test images per class, for retention).
/// </summary>
internal static class SampleImageFolders
{
    private static readonly string[] FashionNames = ["t-shirt", "trouser", "pullover", "dress", "coat"];

    public static void Write(string dataRoot)
    {
        string images = Path.Combine(dataRoot, "images");
        if (Directory.Exists(images))
        {
            Directory.Delete(images, recursive: true);
        }

        using (var digits = IdxFormat.LoadLabeled(Path.Combine(dataRoot, "mnist", "digits-images-idx3-ubyte.gz"), Path.Combine(dataRoot, "mnist", "digits-labels-idx1-ubyte.gz")))
        {
            // Per digit, a seeded shuffle: the first 30 go to the unlabelled target, the next 30 to the labelled set.
            var byClass = DatasetSplits.IndicesByClass(digits);
            var random = new SeededRandom(2021);
            for (int digit = 0; digit < 10; digit++)
            {
                int[] members = [.. byClass[digit]];
                random.Shuffle(members.AsSpan());
                WritePngs(digits, members[..30], i => Path.Combine(images, "digits", $"{i:D5}.png"));
                WritePngs(digits, members[30..60], i => Path.Combine(images, "digits-labelled", digit.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{i:D5}.png"));
            }
        }

        using (var source = IdxFormat.LoadLabeled(Path.Combine(dataRoot, "fashion-mnist", "train-0to4-images-idx3-ubyte.gz"), Path.Combine(dataRoot, "fashion-mnist", "train-0to4-labels-idx1-ubyte.gz")))
        {
            int[] chosen = DatasetSplits.SampleIndices(source.Count, 500, seed: 2021);
            WritePngs(source, chosen, i => Path.Combine(images, "fashion0to4", $"{i:D5}.png"));
        }

        using (var test = IdxFormat.LoadLabeled(Path.Combine(dataRoot, "fashion-mnist", "t10k-images-idx3-ubyte.gz"), Path.Combine(dataRoot, "fashion-mnist", "t10k-labels-idx1-ubyte.gz")))
        {
            var byClass = DatasetSplits.IndicesByClass(test);
            var random = new SeededRandom(2022);
            for (int c = 0; c < 5; c++)
            {
                int[] members = [.. byClass[c]];
                random.Shuffle(members.AsSpan());
                WritePngs(test, members[..30], i => Path.Combine(images, "fashion0to4-labelled", FashionNames[c], $"{i:D5}.png"));
            }
        }

        Console.WriteLine($"images: {Directory.GetFiles(images, "*.png", SearchOption.AllDirectories).Length} PNG files under {images}");
    }

    private static void WritePngs(IImageDataset data, int[] indices, Func<int, string> pathOf)
    {
        foreach (int index in indices)
        {
            using var image = data.GetBatch([index]); // [1,1,H,W]
            int height = data.Shape.Height;
            int width = data.Shape.Width;
            using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
            image.bytes.CopyTo(bitmap.GetPixelSpan());
            string path = pathOf(index);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(path, png.ToArray());
        }
    }
}
