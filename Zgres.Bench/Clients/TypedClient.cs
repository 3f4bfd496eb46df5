using Zgres.Bench.Measure;
using Zgres.Client;

namespace Zgres.Bench.Clients;

/// <summary>A Zgres client as users write one: <see cref="ZgresClient"/> with a callback subscription.</summary>
internal sealed class TypedClient(ZgresClient client, ZgresSubscription subscription) : IBenchClient
{
    public bool IsOpen => client.State == ZgresConnectionState.Connected;

    public static async Task<TypedClient> ConnectAsync(Uri server, string table, Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken)
    {
        var client = new ZgresClient(server, new ZgresClientOptions { ConfigureHttpConnection = HubConnectionClient.SkipNegotiation });
        client.StateChanged += (_, change) =>
        {
            if (change.Current == ZgresConnectionState.Reconnecting) ledger.Disconnects++;
        };
        try
        {
            await client.StartAsync(cancellationToken);
            var options = new ZgresSubscribeOptions { InputId = follow.InputId?.ToString(System.Globalization.CultureInfo.InvariantCulture), Filter = follow.Filter };
            var subscription = await client.SubscribeAsync(table, options, change =>
            {
                if (HubConnectionClient.TryRead(change, out var row)) delivery.Record(ledger, row);
                return Task.CompletedTask;
            }, cancellationToken);
            return new TypedClient(client, subscription);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await subscription.DisposeAsync();
        await client.DisposeAsync();
    }
}
