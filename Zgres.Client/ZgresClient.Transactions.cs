using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Zgres.Client.Connection;

namespace Zgres.Client;

// "My write has arrived": waiting until a transaction's events have reached every handler and live view.
public sealed partial class ZgresClient
{
    /// <summary>How long <see cref="WaitForTransactionAsync"/> waits when it is given no timeout.</summary>
    public static readonly TimeSpan DefaultTransactionTimeout = TimeSpan.FromSeconds(30);

    // The server is given a little longer than the caller, so that the caller's own deadline decides (a TimeoutException).
    private static readonly TimeSpan ServerGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Completes once every event of a transaction for this client's subscriptions and live views has been delivered to
    /// their handlers and applied to the views (at once when the transaction touched none of them); a transaction still
    /// open is waited for. Use it after a write: <c>INSERT …; SELECT pg_current_xact_id()</c>, then wait for that id, and
    /// the row is in the view. A connection lost meanwhile is waited out: the client reconnects, resumes its
    /// subscriptions, and asks again.
    /// </summary>
    /// <param name="txid">The writer's transaction id, as <c>pg_current_xact_id()</c> returned it (text).</param>
    /// <param name="timeout">How long to wait, reconnects included; <see cref="DefaultTransactionTimeout"/> when null.
    /// The server waits at most its <c>Zgres:Limits:MaxTransactionWait</c> (a minute by default) per request.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="HubException">The transaction was rolled back, or the id is malformed or not of this database;
    /// the message says which.</exception>
    /// <exception cref="TimeoutException">The transaction did not commit, or its events did not all arrive, within the timeout.</exception>
    /// <exception cref="InvalidOperationException">The client was not started.</exception>
    public async Task WaitForTransactionAsync(string txid, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(txid);
        var limit = timeout ?? DefaultTransactionTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit, TimeSpan.Zero, nameof(timeout));
        if (_state == ZgresConnectionState.Disconnected) throw new InvalidOperationException("Start the client (StartAsync) before waiting for a transaction.");
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        HubConnection? lost = null;
        try
        {
            while (true)
            {
                await WhenConnectedAsync(deadline.Token, lost).ConfigureAwait(false);
                var current = _current;
                var request = new TransactionWait(txid, Math.Ceiling((limit - Stopwatch.GetElapsedTime(started) + ServerGrace).TotalMilliseconds));
                HubAnswer answer;
                try
                {
                    answer = await current.Connection.InvokeAsync<HubAnswer>(ChangeHubContract.WaitForTransaction, request, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception) when (!deadline.IsCancellationRequested)
                {
                    // The hub's refusals come as answers: a request that got none was lost with its connection.
                    lost = current.Connection;
                    continue;
                }
                if (answer.Error is { } error) throw new HubException(error);
                try
                {
                    // The events the hub sent before its answer are routed and handed over to every handler and view.
                    await _router.FlushAsync(answer.FramesBefore, current.Epoch, deadline.Token).ConfigureAwait(false);
                    return;
                }
                catch (IOException)
                {
                    // Lost before routing passed them: the resumed subscriptions deliver them again; ask again then.
                    lost = current.Connection;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"Transaction {txid} did not commit, or its events did not all reach this client's handlers and views, within {limit}.");
        }
    }
}
