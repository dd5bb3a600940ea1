using System.Globalization;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>The few argument forms the benchmark programs read: <c>--name value</c> pairs and "BxS" batch shapes.</summary>
internal static class BenchmarkArguments
{
    public static int Int(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public static string String(string[] args, string name, string fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    /// <summary>"256x32" → batch 256 of 32×32 images.</summary>
    public static (int Batch, int Size) Shape(string shape)
    {
        string[] parts = shape.Split('x');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
