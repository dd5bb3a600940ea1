namespace UnsupervisedFinetuning;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its handler on the reporting thread, at once. The framework's
/// <see cref="Progress{T}"/> posts each report to a synchronisation context or the thread pool, so in a
/// console app a progress bar lags behind training and reports can still arrive after
/// <c>FinetuneEngine.Run</c> has returned; this one keeps them in step. The handler runs inside the training
/// loop, so it should be quick.
/// </summary>
/// <typeparam name="T">The report type, e.g. <c>FinetuneProgress</c>.</typeparam>
/// <param name="handler">Called with every report.</param>
public sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    private readonly Action<T> _handler = handler ?? throw new ArgumentNullException(nameof(handler));

    /// <inheritdoc/>
    public void Report(T value) => _handler(value);
}
