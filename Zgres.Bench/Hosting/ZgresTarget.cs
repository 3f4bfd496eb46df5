using Zgres.Bench.Cli;
using Zgres.Bench.Clients;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.AspNetCore.Hosting;

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

/// <summary>The Zgres server (its Release build, beside this tool) run as <c>dotnet Zgres.Server.dll</c>, watching
/// <c>public.bench_rows</c>, capturing its changes by triggers or from the WAL (with a slot named after its database).</summary>
internal sealed class ZgresTarget(BenchDatabase database, string serverDll, ZgresClientKind clientKind, IReadOnlyDictionary<string, string> extraEnvironment,
    CaptureMode capture = CaptureMode.Trigger, bool carried = false, string? column = null) : ITarget
{
    public const string Table = "public.bench_rows";
    private ChildProcess? _server;
    private WirePinger? _pinger;
    private Uri _address = new("http://127.0.0.1");

    /// <summary>The column; with <c>--carried</c>, "Zgres (carried)" and "Zgres (WAL, carried)" are servers whose
    /// listener takes events from their notifications rather than reading the log after each doorbell; with
    /// <c>--before-server-dll</c>, "Zgres (before)" is the earlier build.</summary>
    public string Name => column ?? (carried ? (capture == CaptureMode.Wal ? "Zgres (WAL, carried)" : "Zgres (carried)") : NameOf(capture));

    /// <summary>The column of the delivery scenarios' earlier build.</summary>
    public const string BeforeColumn = "Zgres (before)";

    /// <summary>"Zgres" for trigger capture, "Zgres (WAL)": a column of the results, and the figures' owner.</summary>
    public static string NameOf(CaptureMode capture) => capture == CaptureMode.Wal ? "Zgres (WAL)" : "Zgres";

    public BenchDatabase Database => database;

    public int? ServerPid => _server?.Pid;

    public bool SupportsTableSubscribers => true;

    /// <summary>Where the server listens, while it runs.</summary>
    public Uri Address => _address;

    public async Task<ServerReading?> ReadServerAsync(CancellationToken cancellationToken) => await ServerReading.ReadAsync(_address, cancellationToken);

    public WriteStatements Statements { get; } = WriteStatements.ForBenchTable(Table);

    public static string DefaultServerDll => Path.Combine(AppContext.BaseDirectory, "Zgres.Server.dll");

    /// <summary>This build's server with <paramref name="capture"/>, its listener taking events from their notifications
    /// when <paramref name="carried"/>: on <paramref name="database"/> with triggers, on a database of its own from the WAL
    /// (<c>zgres_bench_wal</c>, <c>zgres_bench_wal_carried</c>), so that no server finds another's capture there.</summary>
    public static async Task<ZgresTarget> CreateAsync(BenchDatabase database, CaptureMode capture, BenchOptions options, CancellationToken cancellationToken,
        bool carried = false) =>
        new(capture == CaptureMode.Wal ? await database.CreateDatabaseAsync(carried ? "zgres_bench_wal_carried" : "zgres_bench_wal", cancellationToken) : database,
            options.ServerDll, options.ZgresClient, options.ZgresEnvironment, capture, carried);

    /// <summary>The earlier build of <c>--before-server-dll</c>, capturing by triggers, on a database of its own
    /// (<c>zgres_bench_before</c>), which it migrates to its own schema version.</summary>
    public static async Task<ZgresTarget> CreateBeforeAsync(BenchDatabase database, BenchOptions options, CancellationToken cancellationToken) =>
        new(await database.CreateDatabaseAsync("zgres_bench_before", cancellationToken),
            options.BeforeServerDll ?? throw new InvalidOperationException("No --before-server-dll was given."), options.ZgresClient,
            options.ZgresEnvironment, column: BeforeColumn);

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
            ["Zgres__Capture"] = capture.ToString(),
            ["Zgres__Wal__Slot"] = $"zgres_{database.Name}",
        };
        if (carried) environment["Zgres__Listener__EventsInNotifications"] = "true";
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
                return await _pinger!.ConnectAsync(_address, Table, follow, ledger, delivery, cancellationToken);
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
            // It logs warnings and errors only (Logging__LogLevel__Default=Warning): whatever it said explains a figure.
            if (_server.RecentOutput is { Length: > 0 } said) Console.WriteLine($"[{Name}] the server's last output lines:{Environment.NewLine}{said}");
            _server = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

/// <summary>The Zgres servers of a run (one per capture mode), stopped together.</summary>
internal sealed class TargetList : List<ZgresTarget>, IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        foreach (var target in this) await target.DisposeAsync();
    }
}
