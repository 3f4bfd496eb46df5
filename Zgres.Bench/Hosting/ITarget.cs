using System.Net;
using System.Net.Sockets;
using Zgres.Bench.Clients;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Hosting;

/// <summary>A server under test (Zgres or the seed baseline): how to start it, connect clients to it and write rows it delivers.</summary>
internal interface ITarget : IAsyncDisposable
{
    /// <summary>"Zgres" or "baseline".</summary>
    string Name { get; }

    /// <summary>The server process, while it runs.</summary>
    int? ServerPid { get; }

    /// <summary>Whether a client can follow every row of the table (the seed has only per-input sockets).</summary>
    bool SupportsTableSubscribers { get; }

    /// <summary>The database the server watches, where its writers write.</summary>
    BenchDatabase Database { get; }

    /// <summary>How rows are written to the table the server watches.</summary>
    WriteStatements Statements { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>What the running server reports of its own time so far (Zgres and the SignalR floor, at <c>/metrics</c>); null for the seed,
    /// which reports nothing.</summary>
    Task<ServerReading?> ReadServerAsync(CancellationToken cancellationToken);

    Task StopAsync();

    /// <summary>Connects one client subscribed to what <paramref name="follow"/> names.</summary>
    Task<IBenchClient> ConnectAsync(Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken);
}

internal static class Ports
{
    public static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
