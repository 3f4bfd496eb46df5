using Zgres.Bench.Measure;

namespace Zgres.Bench.Clients;

/// <summary>A seed-node client, as the seed's own page is: a plain WebSocket at <c>/?input_id=N</c>, one payload per message.</summary>
internal sealed class SeedSocketClient : SocketClient
{
    private readonly Delivery _delivery;

    private SeedSocketClient(ClientLedger ledger, Delivery delivery) : base(ledger) => _delivery = delivery;

    public static async Task<SeedSocketClient> ConnectAsync(Uri server, int inputId, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken)
    {
        var client = new SeedSocketClient(ledger, delivery);
        try
        {
            var uri = new UriBuilder(server) { Scheme = "ws", Path = "/", Query = FormattableString.Invariant($"input_id={inputId}") }.Uri;
            await client.ConnectSocketAsync(uri, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    protected override int OnMessage(ReadOnlySpan<byte> message)
    {
        if (RowJson.TryReadSeedPayload(message, out var row)) _delivery.Record(Ledger, row);
        return message.Length;
    }
}
