using Microsoft.AspNetCore.SignalR;
using Zgres.Client;
using Zgres.AspNetCore.Routing;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// One connection's way out. Messages are written in the order they are sent, without waiting for the client, so a
/// client that stops reading never delays whoever sends; they are held while the connection joins a subscription
/// (its replay or catch-up goes first, then what was held, then the rest), and the join's beginning and end are marked
/// when <paramref name="marksJoins"/>. What the dispatcher sends is staged and written once per
/// <see cref="DispatchRound"/>, as one message; anything else written first writes what is staged, so order holds. A
/// client that stops reading is cut by <see cref="OutboxLimits"/>: it comes back and resumes with <c>after</c>, so a
/// burst slows no one and a stalled client costs bounded memory.
/// </summary>
internal sealed class ConnectionOutbox(HubConnectionContext connection, OutboxLimits limits, bool marksJoins, Action<ConnectionOutbox, int> cut)
{
    private readonly Lock _gate = new();
    private readonly List<SerializedHubMessage> _held = [];
    // Sent in the current dispatch round, written at its end (see DispatchRound).
    private readonly List<SerializedHubMessage> _staged = [];
    // Completed when the hold ends, once what it held is written.
    private readonly List<TaskCompletionSource> _handOvers = [];
    private int _holds;
    private int _unsent;
    private int _cut;
    private long _lastProgress = Environment.TickCount64;

    public HubConnectionContext Connection => connection;

    public string ConnectionId => connection.ConnectionId;

    /// <summary>Messages handed to the transport that it has not accepted yet.</summary>
    public int Unsent => Volatile.Read(ref _unsent);

    /// <summary>Writes <paramref name="message"/> after everything sent before it (or holds it), waiting for nothing.</summary>
    public void Send(SerializedHubMessage message)
    {
        lock (_gate)
        {
            if (IsCut || Hold(message)) return;
            WriteStaged(round: null);
            Write(message);
        }
    }

    /// <summary>Sends <paramref name="message"/> within a <see cref="DispatchRound"/>: held as any message while the
    /// connection joins, else kept until the round writes it with the rest (<see cref="WriteStaged"/>). Returns whether it
    /// is the first message kept since the last write, so that the round knows to write this connection.</summary>
    public bool Stage(SerializedHubMessage message)
    {
        lock (_gate)
        {
            if (IsCut || Hold(message)) return false;
            _staged.Add(message);
            return _staged.Count == 1;
        }
    }

    /// <summary>Writes what was staged, as one message when it is small enough.</summary>
    public void WriteStaged(DispatchRound? round)
    {
        lock (_gate)
        {
            if (_staged.Count == 0) return;
            if (_staged.Count == 1)
            {
                Write(_staged[0]);
            }
            else if ((round is null ? DispatchRound.Join(_staged, connection.Protocol) : round.Joined(_staged, connection.Protocol)) is { } joined)
            {
                Write(joined, _staged.Count);
            }
            else
            {
                foreach (var message in _staged) Write(message);
            }
            _staged.Clear();
        }
    }

    // Under the gate.
    private bool Hold(SerializedHubMessage message)
    {
        if (_holds == 0) return false;
        _held.Add(message);
        if (_held.Count > limits.MaxBacklog * 10L) Cut(_held.Count);
        return true;
    }

    /// <summary>
    /// Completes once everything sent so far has been handed to the transport: at once, unless it is held. The
    /// transport writes in the order it is handed messages, so whatever the connection writes after this (a hub
    /// method's answer) reaches the client after them.
    /// </summary>
    public Task HandedOverAsync()
    {
        lock (_gate)
        {
            WriteStaged(round: null);
            if (_holds == 0) return Task.CompletedTask;
            var handOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _handOvers.Add(handOver);
            return handOver.Task;
        }
    }

    /// <summary>
    /// A join of <paramref name="group"/> begins here: marked (see <see cref="ChangeHubContract.JoinMark"/>) after what was
    /// sent so far, and what is sent from now on is held, so that what the join sends past the hold (its replay, its
    /// catch-up) comes next. Disposing the handle marks the end of the join's own messages and writes what was held. A
    /// replay's beginning mark says whether it found a <paramref name="gap"/>.
    /// </summary>
    public IDisposable BeginJoin(string group, bool? gap)
    {
        lock (_gate)
        {
            // What was sent before the join goes before its mark.
            WriteStaged(round: null);
            if (marksJoins)
            {
                var begin = ChangeFrames.JoinMark(group, end: false, gap);
                if (_holds > 0) _held.Add(begin);
                else Write(begin);
            }
            _holds++;
        }
        return new Release(this, marksJoins ? ChangeFrames.JoinMark(group, end: true) : null);
    }

    /// <summary>
    /// Writes <paramref name="messages"/> in order, past any hold (a replay page), and waits until the transport has
    /// accepted them all, so a replay goes no faster than the client reads. They are joined into writes of up to 64 KB,
    /// queued at once: a write per message would cost the transport a lock, a flush and a wake-up per message, and leave a
    /// waiter per message on a slow client for as long as it takes to read the page. A client that accepts none of
    /// them for the stall timeout is cut, as it would be for live messages: a paused replay holds one page, not for long.
    /// </summary>
    public async Task SendInOrderAsync(IEnumerable<SerializedHubMessage> messages, CancellationToken cancellationToken)
    {
        if (IsCut) throw ClientStopped();
        WriteStaged(round: null);
        var pending = new List<Task>();
        foreach (var (message, count) in DispatchRound.Chunks(messages, connection.Protocol))
        {
            Interlocked.Add(ref _unsent, count);
            var write = connection.WriteAsync(message, cancellationToken);
            if (write.IsCompletedSuccessfully) Written(count);
            else pending.Add(AwaitWriteAsync(write, count));
        }
        var all = Task.WhenAll(pending);
        var stall = TimeSpan.FromMilliseconds(limits.StallMilliseconds);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(stall / 4, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            if (!all.IsCompleted && Environment.TickCount64 - Volatile.Read(ref _lastProgress) > limits.StallMilliseconds)
            {
                Cut(Unsent);
                throw ClientStopped();
            }
        }
        await all;
    }

    /// <summary>Cuts the client if it is over its backlog and stalled (checked also when nothing new is sent: after a
    /// burst it would otherwise keep its backlog forever).</summary>
    public void CutIfStalled()
    {
        var unsent = Unsent;
        if (unsent > limits.MaxBacklog && IsStalled(unsent)) Cut(unsent);
    }

    /// <summary>Pings the client when nothing was written to it for <paramref name="intervalMilliseconds"/> and nothing
    /// waits to be: a client that gets events needs no ping, and one whose transport is still sending hears from it.</summary>
    public void KeepAlive(SerializedHubMessage ping, long intervalMilliseconds)
    {
        if (Unsent > 0 || Environment.TickCount64 - Volatile.Read(ref _lastProgress) < intervalMilliseconds) return;
        lock (_gate)
        {
            if (_staged.Count == 0) Write(ping);
        }
    }

    private void EndHold()
    {
        lock (_gate)
        {
            if (_holds > 1)
            {
                _holds--;
                return;
            }
            // The hold ends only after the held messages are written: a sender that sees no hold must not overtake them.
            foreach (var message in _held) Write(message);
            _held.Clear();
            Volatile.Write(ref _holds, 0);
            foreach (var handOver in _handOvers) handOver.TrySetResult();
            _handOvers.Clear();
        }
    }

    /// <summary>Hands <paramref name="message"/> (<paramref name="count"/> messages joined) to the transport, unless the
    /// client was cut: it comes back and resumes from what it received, and its connection may take seconds to be torn
    /// down (its socket is full), during which every write would wait in memory for nobody (what a join held, as it
    /// ends, and the live events that follow).</summary>
    private void Write(SerializedHubMessage message, int count = 1)
    {
        if (IsCut) return;
        var unsent = Interlocked.Add(ref _unsent, count);
        if (unsent > limits.MaxBacklog && IsStalled(unsent))
        {
            Interlocked.Add(ref _unsent, -count);
            Cut(unsent);
            return;
        }
        var write = connection.WriteAsync(message);
        if (write.IsCompletedSuccessfully)
        {
            Written(count);
            return;
        }
        _ = AwaitWriteAsync(write, count);
    }

    // Over the backlog, a client that is still draining (a burst) keeps its connection; one that has finished no write
    // for the stall timeout, or is ten times over, does not.
    private bool IsStalled(int unsent) =>
        unsent > limits.MaxBacklog * 10L || Environment.TickCount64 - Volatile.Read(ref _lastProgress) > limits.StallMilliseconds;

    private void Written(int count = 1)
    {
        Interlocked.Add(ref _unsent, -count);
        Volatile.Write(ref _lastProgress, Environment.TickCount64);
    }

    private async Task AwaitWriteAsync(ValueTask write, int count = 1)
    {
        try
        {
            await write;
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is closing; its disconnect cleans up.
        }
        finally
        {
            Written(count);
        }
    }

    private bool IsCut => Volatile.Read(ref _cut) != 0;

    private static OperationCanceledException ClientStopped() =>
        new("The client stopped reading what it asked for and was disconnected.");

    private void Cut(int backlog)
    {
        if (Interlocked.Exchange(ref _cut, 1) == 0) cut(this, backlog);
    }

    /// <summary>Ends a join: its end mark goes past the hold, right after the join's own messages, then what was held.</summary>
    private sealed class Release(ConnectionOutbox outbox, SerializedHubMessage? end) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            if (end is not null) outbox.Write(end);
            outbox.EndHold();
        }
    }
}
