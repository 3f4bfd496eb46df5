using Zgres.Client;

namespace Zgres.Tests.Infrastructure;

/// <summary>Where most tests start: a table of their own, a server watching it, and a connected client.</summary>
public sealed class LiveTable : IAsyncDisposable
{
    private readonly List<ZgresSubscription> _subscriptions = [];

    private LiveTable(string name, ZgresTestServer server, ZgresClient client)
    {
        Name = name;
        Server = server;
        Client = client;
    }

    public string Name { get; }

    public ZgresTestServer Server { get; }

    public ZgresClient Client { get; }

    public static async Task<LiveTable> StartAsync(TestDatabase database, string? columns = null, IDictionary<string, string?>? settings = null)
    {
        var name = columns is null ? await database.CreateTableAsync() : await database.CreateTableAsync(columns);
        var server = await ZgresTestServer.StartAsync(database, [name], settings: settings);
        return new LiveTable(name, server, await server.ConnectClientAsync());
    }

    /// <summary>Subscribes the client to the table (or one input of it) and collects what it delivers.</summary>
    public async Task<EventCollector> SubscribeAsync(string? inputId, long? after = null)
    {
        var received = new EventCollector();
        _subscriptions.Add(await Client.SubscribeAsync(Name, inputId, after, received.OnChange));
        return received;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var subscription in _subscriptions) await subscription.DisposeAsync();
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
