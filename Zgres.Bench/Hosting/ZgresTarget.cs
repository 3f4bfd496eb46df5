using Zgres.Bench.Clients;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Hosting;

/// <summary>Which client library drives Zgres.</summary>
internal enum ZgresClientKind
{
    /// <summary>The SignalR JSON protocol over a bare WebSocket (as light as the baseline's client).</summary>
    Wire,

    /// <summary>Microsoft's HubConnection.</summary>
    Hub,

    /// <summary>Zgres.Client's ZgresClient.</summary>
    Typed,
}

/// <summary>The Zgres server (its Release build, beside this tool) run as <c>dotnet Zgres.Server.dll</c>, watching <c>public.bench_rows</c>.</summary>
internal sealed class ZgresTarget(BenchDatabase database, string serverDll, ZgresClientKind clientKind, IReadOnlyDictionary<string, string> extraEnvironment) : ITarget
{
    public const string Table = "public.bench_rows";
    private ChildProcess? _server;
    private WirePinger? _pinger;
    private Uri _address = new("http://127.0.0.1");

    public string Name => "Zgres";

    public int? ServerPid => _server?.Pid;

    public bool SupportsTableSubscribers => true;

    /// <summary>Where the server listens, while it runs.</summary>
    public Uri Address => _address;

    public WriteStatements Statements { get; } = WriteStatements.ForBenchTable(Table);

    public static string DefaultServerDll => Path.Combine(AppContext.BaseDirectory, "Zgres.Server.dll");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(serverDll)) throw new FileNotFoundException($"The Zgres server was not found at {serverDll}; build it (dotnet build -c Release Zgres.Bench) or pass --server-dll.");
        var port = Ports.FreeLoopbackPort();
        _address = new Uri($"http://127.0.0.1:{port}");
        var environment = new Dictionary<string, string>(extraEnvironment)
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["Urls"] = _address.ToString().TrimEnd('/'),
            ["Zgres__Tables__0__Name"] = Table,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        _server = ChildProcess.Start("Zgres.Server", "dotnet", [serverDll], environment, Path.GetDirectoryName(serverDll));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await _server.WaitUntilAsync(async ct =>
        {
            try
            {
                using var response = await http.GetAsync(new Uri(_address, "/api/tables"), ct);
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(120), cancellationToken);
        _pinger = clientKind == ZgresClientKind.Wire ? new WirePinger() : null;
    }

    public async Task<IBenchClient> ConnectAsync(Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken)
    {
        switch (clientKind)
        {
            case ZgresClientKind.Wire:
                var wire = await WireHubClient.ConnectAsync(_address, Table, follow, ledger, delivery, cancellationToken);
                _pinger!.Add(wire);
                return wire;
            case ZgresClientKind.Hub:
                return await HubConnectionClient.ConnectAsync(_address, Table, follow, ledger, delivery, cancellationToken);
            default:
                return await TypedClient.ConnectAsync(_address, Table, follow, ledger, delivery, cancellationToken);
        }
    }

    public async Task StopAsync()
    {
        if (_pinger is not null)
        {
            await _pinger.DisposeAsync();
            _pinger = null;
        }
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
