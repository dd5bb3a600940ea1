using System.Collections;
using TorchSharp.PyBridge;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Formats;

/// <summary>
/// Imports weights from PyTorch checkpoints (<c>.pt</c>, <c>.pth</c>, <c>.pth.tar</c>, plain state dicts or
/// training checkpoints that nest one under <c>state_dict</c> / <c>model</c>) and <c>.safetensors</c> files,
/// through TorchSharp.PyBridge, and TorchSharp's own format (<see cref="Save"/>); the file's content, not its
/// name, decides which.
/// </summary>
public static class Checkpoint
{
    private static readonly string[] NestedStateDictKeys = ["state_dict", "model", "model_state_dict", "net", "network"];

    /// <summary>
    /// Reads every tensor of the checkpoint's state dict by its original key — a PyTorch checkpoint, a safetensors
    /// file or TorchSharp weights (<see cref="Save"/>). The caller owns (and should dispose) the tensors. Non-tensor
    /// entries are skipped.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable checkpoint, or holds no state dict; the message names it.</exception>
    public static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint not found: {path}", path);
        }

        // The content decides the reader, not the name; sizes, shapes and the pickle's globals are checked
        // before a reader allocates anything for them.
        using var stream = File.OpenRead(path);
        var format = CheckpointFile.Detect(stream);
        if (format == CheckpointFormat.Safetensors)
        {
            CheckpointFile.CheckSafetensors(stream, path);
            try
            {
                return Safetensors.LoadStateDict(stream, leaveOpen: true);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidDataException($"{path}: not a readable safetensors file ({ExceptionText.Brief(e)}).", e);
            }
        }

        if (format == CheckpointFormat.TorchSharp)
        {
            try
            {
                using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                return TorchSharpFormat.ReadStateDict(reader, path);
            }
            catch (Exception e) when (TorchSharpFormat.IsReadFailure(e))
            {
                throw new InvalidDataException($"{path}: not complete TorchSharp weights ({ExceptionText.Detail(e, path)}).", e);
            }
        }

        if (format != CheckpointFormat.PyTorchZip)
        {
            throw new InvalidDataException(CheckpointFile.Explain(format, path, stream));
        }

        Hashtable root;
        try
        {
            CheckpointFile.CheckPickle(stream, path);
            root = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
        }
        catch (InvalidDataException e) when (e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw; // our own check, already naming the file
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{path}: not a readable PyTorch checkpoint ({ExceptionText.Brief(e)}); expected a file written by torch.save.", e);
        }

        IDictionary stateDict = FindStateDict(root)
            ?? throw new InvalidDataException($"{path}: holds no state dict: neither tensors at the top level nor under one of '{string.Join("', '", NestedStateDictKeys)}' (top-level keys: {string.Join(", ", root.Keys.Cast<object>().Take(10).Select(key => ExceptionText.Printable(key?.ToString() ?? "None")))}).");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in stateDict)
        {
            if (entry.Key is string key && entry.Value is Tensor tensor)
            {
                result[key] = tensor;
            }
        }

        return result;
    }

    /// <summary>
    /// Loads a checkpoint file into <paramref name="model"/> by name, after mapping keys with
    /// <paramref name="keyMap"/> (default <see cref="CheckpointKeyMap"/>). Strict (default): any missing key,
    /// unexpected key or shape mismatch throws <see cref="CheckpointMismatchException"/> before anything is
    /// copied. Non-strict: every matching key is loaded and the rest is reported.
    /// </summary>
    public static CheckpointLoadReport Load(nn.Module model, string path, bool strict = true, CheckpointKeyMap? keyMap = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var stateDict = ReadStateDict(path);
        try
        {
            return LoadStateDict(model, stateDict, path, strict, keyMap);
        }
        finally
        {
            foreach (var tensor in stateDict.Values)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Loads an in-memory state dict into <paramref name="model"/>; see <see cref="Load(nn.Module, string, bool, CheckpointKeyMap?)"/>.</summary>
    /// <param name="model">The network to load into.</param>
    /// <param name="stateDict">Tensors by PyTorch name (e.g. from <see cref="ReadStateDict"/>).</param>
    /// <param name="source">Where the tensors came from, for messages.</param>
    /// <param name="strict">Refuse any missing or unexpected key or shape mismatch.</param>
    /// <param name="keyMap">How checkpoint names map onto the model's.</param>
    public static CheckpointLoadReport LoadStateDict(nn.Module model, IReadOnlyDictionary<string, Tensor> stateDict, string source, bool strict = true, CheckpointKeyMap? keyMap = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stateDict);
        keyMap ??= new CheckpointKeyMap();

        var mapped = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var dropped = new List<string>();
        foreach (var (key, value) in stateDict.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            string? name = keyMap.Map(key);
            if (name is null)
            {
                dropped.Add(key);
            }
            else if (!mapped.TryAdd(name, value))
            {
                throw new InvalidDataException($"{source}: keys map to the same name '{ExceptionText.Printable(name)}' (one of them is '{ExceptionText.Printable(key)}'); adjust CheckpointKeyMap.StripPrefixes.");
            }
        }

        var target = model.state_dict();
        var loaded = new List<string>();
        var missing = new List<string>();
        var mismatches = new List<ShapeMismatch>();
        foreach (var (name, tensor) in target)
        {
            if (!mapped.TryGetValue(name, out var value))
            {
                missing.Add(name);
            }
            else if (!value.shape.SequenceEqual(tensor.shape))
            {
                mismatches.Add(new ShapeMismatch(name, value.shape, tensor.shape));
            }
            else
            {
                loaded.Add(name);
            }
        }

        var unexpected = mapped.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var report = new CheckpointLoadReport(source, loaded, missing, unexpected, mismatches, dropped);
        if (strict && !report.IsExact)
        {
            throw new CheckpointMismatchException(report);
        }

        using (no_grad())
        {
            foreach (string name in loaded)
            {
                target[name].copy_(mapped[name]);
            }
        }

        return report;
    }

    /// <summary>
    /// Saves <paramref name="model"/>'s parameters and buffers in TorchSharp's format, atomically: the file
    /// is written beside the target and renamed over it, so a crash never leaves a torn file in its place.
    /// </summary>
    public static void Save(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, stream =>
        {
            // TorchSharp's save(Stream) closes the stream; a writer that leaves it open lets it be flushed to disk.
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            model.save(writer);
            writer.Flush();
        });
    }

    /// <summary>
    /// Loads a file written by <see cref="Save"/> (TorchSharp's <c>Module.save</c> format) into a model of the
    /// same architecture. Every name, dtype and shape is checked against the model and every declared size
    /// against the file before anything is copied; a rejected file leaves the model unchanged.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not TorchSharp weights (the message says what it is), is truncated, or belongs to another architecture.</exception>
    public static void LoadTorchSharp(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Weights file not found: {path}", path);
        }

        using var stream = File.OpenRead(path);
        var format = CheckpointFile.Detect(stream);
        if (format is CheckpointFormat.PyTorchZip or CheckpointFormat.PyTorchLegacy or CheckpointFormat.Safetensors)
        {
            throw new InvalidDataException($"{path}: a {(format == CheckpointFormat.Safetensors ? "safetensors" : "PyTorch")} checkpoint, not TorchSharp weights; load it with Checkpoint.Load.");
        }

        if (format != CheckpointFormat.TorchSharp)
        {
            throw new InvalidDataException(CheckpointFile.Explain(format, path, stream));
        }

        // Our bounded reader of TorchSharp's layout, all or nothing: a failed load leaves the model unchanged.
        try
        {
            using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            TorchSharpFormat.LoadModule(reader, model, path, "the file");
        }
        catch (Exception e) when (TorchSharpFormat.IsReadFailure(e))
        {
            throw new InvalidDataException($"{path}: not complete TorchSharp weights for this model ({ExceptionText.Detail(e, path)}).", e);
        }
    }

    // A nested state dict under a known key wins over tensors at the top level: training checkpoints keep
    // stray tensors beside it (a queue, an EMA buffer) that must not be mistaken for the weights.
    private static IDictionary? FindStateDict(IDictionary root)
    {
        foreach (string key in NestedStateDictKeys)
        {
            if (root.Contains(key) && root[key] is IDictionary nested && nested.Values.Cast<object?>().Any(v => v is Tensor))
            {
                return nested;
            }
        }

        return root.Count > 0 && root.Values.Cast<object?>().Any(v => v is Tensor) ? root : null;
    }
}
