using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Zgres.Client;
using Zgres.AspNetCore.Hosting;

namespace Zgres.Tests.Infrastructure;

/// <summary>
/// The real server, composed exactly as Program.cs composes it (AddZgres, MapZgres), on Kestrel at a loopback port,
/// with its log captured so tests can check what it said.
/// </summary>
public sealed class ZgresTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ZgresTestServer(WebApplication app, Uri address, CapturedLog log)
    {
        _app = app;
        Address = address;
        Log = log;
    }

    public Uri Address { get; }

    public CapturedLog Log { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server on <paramref name="database"/>, configured as the database says servers on it are
    /// (<see cref="TestDatabase.ServerSettings"/>) and then with <paramref name="settings"/>.</summary>
    public static Task<ZgresTestServer> StartAsync(TestDatabase database, IEnumerable<string> tables, int port = 0,
        string channel = "db_notifications", IDictionary<string, string?>? settings = null, CapturedLog? log = null,
        Action<WebApplicationBuilder>? configure = null) =>
        StartAsync(database.ConnectionString, tables, port, channel,
            new Dictionary<string, string?>(database.ServerSettings.Concat(settings ?? new Dictionary<string, string?>()).GroupBy(s => s.Key).Select(g => g.Last())),
            log, configure);

    /// <summary>Starts a server watching <paramref name="tables"/> (names or full entries) on <paramref name="port"/> (0: a free one).</summary>
    public static async Task<ZgresTestServer> StartAsync(string connectionString, IEnumerable<string> tables, int port = 0,
        string channel = "db_notifications", IDictionary<string, string?>? settings = null, CapturedLog? log = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        port = port == 0 ? FreePort() : port;
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Urls"] = $"http://127.0.0.1:{port}",
            ["Zgres:Channel"] = channel,
            ["Zgres:Listener:SelfCheckInterval"] = "00:00:01",
            ["Zgres:Listener:SelfCheckTimeout"] = "00:00:03",
            ["Zgres:Listener:ReconnectMaxDelay"] = "00:00:01",
        };
        var index = 0;
        foreach (var table in tables) configuration[$"Zgres:Tables:{index++}:Name"] = table;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;

        log ??= new CapturedLog();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.ClearProviders().AddProvider(log).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddZgres(builder.Configuration);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapZgres();
        try
        {
            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new ZgresTestServer(app, new Uri($"http://127.0.0.1:{port}"), log);
    }

    /// <param name="through">Where the client connects instead of the server's own address: a <see cref="TcpRelay"/>'s.</param>
    public ZgresClient CreateClient(Func<Task<string?>>? accessTokenProvider = null, Uri? through = null) => new(through ?? Address, new ZgresClientOptions
    {
        InitialReconnectDelay = TimeSpan.FromMilliseconds(100),
        MaxReconnectDelay = TimeSpan.FromSeconds(1),
        AccessTokenProvider = accessTokenProvider,
    });

    /// <summary>A plain SignalR connection to the hub, as a JavaScript or other non-Zgres client would use it.</summary>
    public async Task<HubConnection> ConnectHubAsync()
    {
        var connection = new HubConnectionBuilder().WithUrl(new Uri(Address, ChangeHubContract.Path)).Build();
        await connection.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
        return connection;
    }

    public async Task<ZgresClient> ConnectClientAsync(Uri? through = null)
    {
        var client = CreateClient(through: through);
        await client.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StopAsync(timeout.Token);
        // A server that cannot let go of its services is a bug: a failing test, not a test run that hangs.
        await _app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>Every log entry a server wrote, by event name.</summary>
public sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, EventId EventId, LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyList<(string Category, EventId EventId, LogLevel Level, string Message, Exception? Exception)> Entries => _entries.ToArray();

    public int Count(string eventName) => _entries.Count(e => e.EventId.Name == eventName);

    /// <summary>Waits until the server has logged <paramref name="eventName"/> at least once; false after the timeout.</summary>
    public async Task<bool> WaitForAsync(string eventName, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (Count(eventName) == 0)
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(50);
        }
        return true;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose() { }

    private sealed class Logger(string category, CapturedLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log._entries.Enqueue((category, eventId, logLevel, formatter(state, exception), exception));
    }
}
