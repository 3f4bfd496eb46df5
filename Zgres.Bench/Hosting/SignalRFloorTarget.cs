using Zgres.Bench.Clients;
using Zgres.Bench.Floor;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Hosting;

/// <summary>
/// The seed's design on a bare SignalR hub (<see cref="SignalRFloor"/>): this tool run again as
/// <c>dotnet exec --runtimeconfig Zgres.Server.runtimeconfig.json Zgres.Bench.dll signalr-floor …</c>, so that it runs
/// with the Zgres server's runtime settings (server GC, thread-pool spin). Its rows go to the seed's table through the
/// seed's trigger; its clients are the wire clients, subscribing to their input as they do on Zgres.
/// </summary>
internal sealed class SignalRFloorTarget(BenchDatabase database) : ITarget
{
    public const string ColumnName = "SignalR floor";
    private ChildProcess? _server;
    private WirePinger? _pinger;
    private Uri _address = new("http://127.0.0.1");

    public string Name => ColumnName;

    public int? ServerPid => _server?.Pid;

    public bool SupportsTableSubscribers => false;

    public BenchDatabase Database => database;

    public WriteStatements Statements => SeedTarget.TableStatements;

    /// <summary>Its collections, allocations and JIT, from the runtime's meter as Zgres exports it.</summary>
    public async Task<ServerReading?> ReadServerAsync(CancellationToken cancellationToken) => await ServerReading.ReadAsync(_address, cancellationToken);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var port = Ports.FreeLoopbackPort();
        _address = new Uri($"http://127.0.0.1:{port}");
        var folder = AppContext.BaseDirectory;
        _server = ChildProcess.Start(ColumnName, "dotnet",
            ["exec", "--runtimeconfig", Path.Combine(folder, "Zgres.Server.runtimeconfig.json"), Path.Combine(folder, "Zgres.Bench.dll"),
                SignalRFloor.Command, database.ConnectionString, _address.ToString().TrimEnd('/'), SeedTarget.Channel],
            new Dictionary<string, string>(), folder);
        var server = _server;
        await server.WaitUntilAsync(_ => Task.FromResult(server.SaidLine(SignalRFloor.ReadyLine)), TimeSpan.FromSeconds(60), cancellationToken);
        _pinger = new WirePinger();
    }

    public async Task<IBenchClient> ConnectAsync(Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken) =>
        await _pinger!.ConnectAsync(_address, SeedTarget.Table, follow, ledger, delivery, cancellationToken);

    public async Task StopAsync()
    {
        await (_pinger?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_server?.DisposeAsync() ?? ValueTask.CompletedTask);
        (_pinger, _server) = (null, null);
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
