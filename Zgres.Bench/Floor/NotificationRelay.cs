using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Zgres.Client;

namespace Zgres.Bench.Floor;

/// <summary>
/// The seed's server loop on SignalR: one connection LISTENs, each notification's payload is parsed (as the seed's
/// <c>JSON.parse</c>) and sent whole to the group of its <c>data.input_id</c>, one after the other on the loop that read
/// them.
/// </summary>
internal sealed class NotificationRelay(NotificationRelay.Source source, IHubContext<FloorHub> hub) : BackgroundService
{
    /// <summary>The database and the channel the seed's trigger notifies.</summary>
    public sealed record Source(string ConnectionString, string Channel);

    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the LISTEN is in place.</summary>
    public Task Listening => _listening.Task;

    public static string GroupOf(string inputId) => "input:" + inputId;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(source.ConnectionString);
            await connection.OpenAsync(stoppingToken);
            var arrived = new List<string>();
            connection.Notification += (_, notification) => arrived.Add(notification.Payload);
            await using (var listen = new NpgsqlCommand($"LISTEN {source.Channel}", connection))
            {
                await listen.ExecuteNonQueryAsync(stoppingToken);
            }
            _listening.TrySetResult();
            while (true)
            {
                await connection.WaitAsync(stoppingToken);
                foreach (var payload in arrived) await RelayAsync(payload, stoppingToken);
                arrived.Clear();
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            _listening.TrySetException(exception);
            throw;
        }
    }

    private Task RelayAsync(string payload, CancellationToken cancellationToken)
    {
        var change = JsonSerializer.Deserialize<JsonElement>(payload);
        return change.TryGetProperty("data", out var data) && data.TryGetProperty("input_id", out var input) && input.ValueKind == JsonValueKind.String
            ? hub.Clients.Group(GroupOf(input.GetString()!)).SendAsync(nameof(IChangeClient.Change), change, cancellationToken)
            : Task.CompletedTask;
    }
}
