namespace UnsupervisedFinetuning.Data;

/// <summary>
/// A dataset that can say where each of its images comes from — its file's path for the file-backed datasets, a key
/// for another source — so a tool can name what it writes per image (the paths beside <c>uft embed</c>'s features)
/// without knowing the dataset's type. Optional: <see cref="DatasetExtensions.NameOf"/> names the images of any
/// dataset, by their index when it does not implement this.
/// </summary>
public interface INamedImageDataset : IImageDataset
{
    /// <summary>Where image <paramref name="index"/> comes from (a file-backed dataset: the file's full path).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside [0, Count).</exception>
    string GetName(int index);
}
