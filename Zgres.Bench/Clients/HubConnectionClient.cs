using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Zgres.Bench.Measure;
using Zgres.Client;

namespace Zgres.Bench.Clients;

/// <summary>A Zgres client on Microsoft's <see cref="HubConnection"/>: <c>Subscribe</c> with <c>{table, inputId, filter}</c>, handling <c>Change</c>.</summary>
internal sealed class HubConnectionClient : IBenchClient
{
    private readonly HubConnection _connection;
    private volatile bool _disposing;

    private HubConnectionClient(HubConnection connection) => _connection = connection;

    public bool IsOpen => _connection.State == HubConnectionState.Connected;

    public static async Task<HubConnectionClient> ConnectAsync(Uri server, string table, Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server, ChangeHubContract.Path), SkipNegotiation)
            .AddJsonProtocol(json => json.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ZgresJsonContext.Default))
            .Build();
        var client = new HubConnectionClient(connection);
        connection.On<ChangeEvent>(nameof(IChangeClient.Change), change =>
        {
            if (TryRead(change, out var row)) delivery.Record(ledger, row);
        });
        connection.Closed += _ =>
        {
            if (!client._disposing) ledger.Disconnects++;
            return Task.CompletedTask;
        };
        try
        {
            await connection.StartAsync(cancellationToken);
            await connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe,
                new Subscription(table, follow.InputId?.ToString(System.Globalization.CultureInfo.InvariantCulture), Filter: follow.Filter), cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>WebSockets straight away: the negotiate round trip would only add connect time.</summary>
    internal static void SkipNegotiation(Microsoft.AspNetCore.Http.Connections.Client.HttpConnectionOptions options)
    {
        options.SkipNegotiation = true;
        options.Transports = HttpTransportType.WebSockets;
    }

    internal static bool TryRead(ChangeEvent change, out RowStamp row)
    {
        row = default;
        var data = change.Data;
        if (data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty("input_id", out var input) || !data.TryGetProperty("seq", out var seq) || !data.TryGetProperty("sent_us", out var sent))
        {
            return false;
        }
        var region = data.TryGetProperty(Follow.RegionColumn, out var regionValue) && regionValue.ValueKind == JsonValueKind.Number ? regionValue.GetInt32() : 0;
        row = new RowStamp(input.GetInt32(), seq.GetInt64(), sent.GetInt64(), region);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        await _connection.DisposeAsync();
    }
}
