using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// A real HTTP server on 127.0.0.1 at a free port (System.Net.HttpListener) that serves one file's bytes, honouring
/// <c>Range: bytes=N-</c> unless told not to, or misbehaves on request; it records every request's Range header.
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;

    public LoopbackServer(byte[] content)
    {
        Content = content;
        (_listener, Port) = Start();
        _loop = Task.Run(LoopAsync);
    }

    public byte[] Content { get; set; }

    public int Port { get; }

    public bool HonourRange { get; set; } = true;

    /// <summary>When set, the server announces the whole length, sends this many bytes and drops the connection.</summary>
    public int? CloseAfter { get; set; }

    /// <summary>When set, every request is answered with this status and no body.</summary>
    public HttpStatusCode? Status { get; set; }

    /// <summary>The Range header of each request, in order ("" when absent).</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public Uri Url(string name) => new($"http://127.0.0.1:{Port}/files/{name}");

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private static (HttpListener, int) Start()
    {
        for (int attempt = 0; ; attempt++)
        {
            // A free port from the kernel, then bound by HttpListener: another process could take it in between, so retry.
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(context));
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            string range = context.Request.Headers["Range"] ?? "";
            Requests.Enqueue(range);
            if (Status is { } status)
            {
                response.StatusCode = (int)status;
                response.Close();
                return;
            }

            byte[] content = Content;
            long from = 0;
            if (HonourRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            {
                from = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
                if (from >= content.Length)
                {
                    response.StatusCode = (int)HttpStatusCode.RequestedRangeNotSatisfiable;
                    response.Headers["Content-Range"] = $"bytes */{content.Length}";
                    response.Close();
                    return;
                }

                response.StatusCode = (int)HttpStatusCode.PartialContent;
                response.Headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
            }

            response.ContentLength64 = content.Length - from;
            int send = CloseAfter is { } cut ? Math.Min(cut, content.Length - (int)from) : content.Length - (int)from;
            await response.OutputStream.WriteAsync(content.AsMemory((int)from, send));
            if (CloseAfter is not null)
            {
                await response.OutputStream.FlushAsync();
                response.Abort();
                return;
            }

            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            response.Abort();
        }
    }
}
