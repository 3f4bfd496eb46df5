using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Zgres.Bench.Hosting;

namespace Zgres.Bench.LiveViews;

/// <summary>Which client library a consumer runs.</summary>
internal enum ConsumerRuntime
{
    /// <summary>Zgres.Client, in <see cref="DotnetConsumer"/>.</summary>
    Dotnet,

    /// <summary><c>@zgres/client</c>, in <c>Zgres.Client.Js/bench/live-view.mjs</c> under Node.js.</summary>
    Node,
}

/// <summary>The bench's side of a consumer process (see <see cref="ConsumerReport"/> for what they say): starts it,
/// hands over its reports in order, keeps its latest progress, and stops it.</summary>
internal sealed class ConsumerProcess : IAsyncDisposable
{
    /// <summary>The Node consumer, in the repository.</summary>
    public static readonly string NodeScript = Path.Combine("Zgres.Client.Js", "bench", "live-view.mjs");

    private readonly Channel<ConsumerReport> _reports = Channel.CreateUnbounded<ConsumerReport>(new UnboundedChannelOptions { SingleReader = true });
    private ChildProcess? _process;
    private long _applied;

    private ConsumerProcess()
    {
    }

    public int Pid => Process.Pid;

    /// <summary>Events applied after the snapshot, as of the consumer's latest progress report.</summary>
    public long Applied => Interlocked.Read(ref _applied);

    private ChildProcess Process => _process ?? throw new InvalidOperationException("The consumer was not started.");

    /// <summary>The Node consumer's script, or an error saying what is missing.</summary>
    public static string FindNodeScript()
    {
        var script = RepositoryFiles.FindAbove(NodeScript)
            ?? throw new FileNotFoundException($"{NodeScript} was not found above the current folder or the tool's; run the tool from the repository.");
        var package = Path.GetDirectoryName(Path.GetDirectoryName(script))!;
        if (!Directory.Exists(Path.Combine(package, "node_modules", "@microsoft", "signalr")))
        {
            throw new FileNotFoundException($"The JavaScript client's packages are not installed: run npm ci --no-audit --no-fund in {package}.");
        }
        return script;
    }

    public static ConsumerProcess Start(ConsumerRuntime runtime, ConsumerMode mode, Uri server, string table, long rows, string nodeScript)
    {
        var consumer = new ConsumerProcess();
        string[] arguments = [server.ToString().TrimEnd('/'), table, mode.ToString().ToLowerInvariant(), rows.ToString(CultureInfo.InvariantCulture)];
        consumer._process = runtime == ConsumerRuntime.Dotnet
            ? ChildProcess.Start(".NET consumer", "dotnet", [Path.Combine(AppContext.BaseDirectory, "Zgres.Bench.dll"), DotnetConsumer.Command, .. arguments],
                new Dictionary<string, string>(), readOutput: consumer.Take)
            : ChildProcess.Start("Node consumer", "node", ["--expose-gc", nodeScript, .. arguments],
                new Dictionary<string, string>(), Path.GetDirectoryName(nodeScript), consumer.Take);
        return consumer;
    }

    private void Take(string line)
    {
        if (!line.StartsWith('{')) return;
        ConsumerReport? report;
        try
        {
            report = JsonSerializer.Deserialize<ConsumerReport>(line, ConsumerReport.Json);
        }
        catch (JsonException)
        {
            return;
        }
        if (report is null) return;
        if (report.Event == ConsumerReport.Progress) Interlocked.Exchange(ref _applied, report.Applied);
        else _reports.Writer.TryWrite(report);
    }

    /// <summary>The consumer's next report, which must be a <paramref name="expected"/> one; fails with its output when
    /// it says something else, exits, or says nothing within <paramref name="timeout"/>.</summary>
    public async Task<ConsumerReport> NextAsync(string expected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            poll.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                var report = await _reports.Reader.ReadAsync(poll.Token);
                if (report.Event != expected) throw new InvalidOperationException($"The consumer said {report.Event} where {expected} was due:{Environment.NewLine}{Process.RecentOutput}");
                return report;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (Process.HasExited) throw new InvalidOperationException($"The consumer exited before it said {expected}:{Environment.NewLine}{Process.RecentOutput}");
                if (deadline.IsCancellationRequested) throw new TimeoutException($"The consumer did not say {expected} within {timeout.TotalSeconds:0} s:{Environment.NewLine}{Process.RecentOutput}");
            }
        }
    }

    public Task SendAsync(string command, CancellationToken cancellationToken) => Process.WriteLineAsync(command, cancellationToken);

    /// <summary>Asks the consumer to quit, and stops it when it does not within 10 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited) await _process.WriteLineAsync(ConsumerReport.Quit, CancellationToken.None);
        }
        catch (IOException)
        {
            // It exited meanwhile.
        }
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await _process.DisposeAsync();
    }
}
