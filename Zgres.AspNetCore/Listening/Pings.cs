using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Listening;

/// <summary>Self-check NOTIFYs: each carries a nonce, and proves the LISTEN connection delivers when it comes back.</summary>
internal sealed class Pings(ZgresDatabase database, string channel)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new();

    /// <summary>Called by the LISTEN connection's notification handler.</summary>
    public void Returned(string nonce)
    {
        if (_waiting.TryRemove(nonce, out var ping)) ping.TrySetResult();
    }

    /// <summary>Sends a ping through a connection of the self-check's pool and waits for the LISTEN connection to receive it.</summary>
    public Task<bool> SendAsync(TimeSpan timeout, CancellationToken cancellationToken) => SendAsync(null, timeout, cancellationToken);

    /// <summary>Sends a ping on the LISTEN connection itself and reads it until the ping comes back (before the
    /// listener's loop runs, nothing else reads it).</summary>
    public Task<bool> SendOnAsync(NpgsqlConnection listening, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(listening, timeout, cancellationToken);

    private async Task<bool> SendAsync(NpgsqlConnection? listening, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var nonce = Guid.NewGuid().ToString("N");
        var returned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[nonce] = returned;
        try
        {
            await using var pooled = listening is null ? await database.SelfCheck.OpenConnectionAsync(cancellationToken) : null;
            await using var command = new NpgsqlCommand("SELECT pg_notify($1, $2)", listening ?? pooled)
            {
                CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
                Parameters = { new() { Value = channel }, new() { Value = Notification.PingPrefix + nonce } },
            };
            await command.ExecuteNonQueryAsync(cancellationToken);
            if (listening is null)
            {
                await returned.Task.WaitAsync(timeout, cancellationToken);
                return true;
            }
            var sent = Stopwatch.GetTimestamp();
            while (!returned.Task.IsCompleted)
            {
                var left = timeout - Stopwatch.GetElapsedTime(sent);
                if (left <= TimeSpan.Zero) return false;
                await listening.WaitAtMostAsync(left, cancellationToken);
            }
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            _waiting.TryRemove(nonce, out _);
        }
    }
}
