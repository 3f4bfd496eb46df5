using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Zgres.Client.Connection;

namespace Zgres.Client.Routing;

/// <summary>
/// Hands each <c>Change</c> frame of the current connection to the followers of the group it names, one frame at a
/// time and in the order the frames were parsed, and runs what must happen at a numbered point of that order: the end
/// of a join (the hub's answer is numbered with the frames sent before it, see <see cref="FrameNumberingProtocol"/>),
/// a flush, forgetting a group that was left. Owns everything routing reads: the followers by group, the group names
/// the hub answered with, the join in flight, where it stands by the server's join marks, and the connection's epoch.
/// </summary>
internal sealed class Router : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<Barrier> _barriers = [];
    // Replaced whole (by membership changes, one at a time), so that routing reads it without the gate.
    private ImmutableDictionary<SubscriptionKey, ImmutableArray<IFollower>> _followers = ImmutableDictionary<SubscriptionKey, ImmutableArray<IFollower>>.Empty;
    private ImmutableDictionary<string, SubscriptionKey> _keysByGroup = ImmutableDictionary<string, SubscriptionKey>.Empty;
    private GroupJoin? _joining;
    // Whether this connection's server marks where joins begin and end: known from its first mark, and needed before
    // one (a server of an earlier version sends none, and then every event of the group goes to all its followers).
    private bool _marksJoins;
    private int _epoch;
    private long _routed;

    /// <summary>The connection whose frames are routed; frames of an earlier one are dropped.</summary>
    public int Epoch => Volatile.Read(ref _epoch);

    /// <summary>Every follower, by the group it follows.</summary>
    public ImmutableDictionary<SubscriptionKey, ImmutableArray<IFollower>> Followers => Volatile.Read(ref _followers);

    /// <summary>Routes the group's events to <paramref name="follower"/> from now on. Membership changes one at a time.</summary>
    private void Add(IFollower follower) =>
        Volatile.Write(ref _followers, _followers.SetItem(follower.Key, _followers.GetValueOrDefault(follower.Key, []).Add(follower)));

    /// <summary>Stops routing to <paramref name="follower"/>; true when it was its group's last, so the group can be left.</summary>
    public bool Remove(IFollower follower)
    {
        var remaining = _followers.GetValueOrDefault(follower.Key, []).Remove(follower);
        Volatile.Write(ref _followers, remaining.IsEmpty ? _followers.Remove(follower.Key) : _followers.SetItem(follower.Key, remaining));
        return remaining.IsEmpty;
    }

    public async Task RouteAsync(NumberedChange numbered, int epoch)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (epoch != _epoch) return;
            _routed = numbered.Number;
            var change = numbered.Change;
            // A snapshot row is the joining followers' alone: another follower of the group never asked for it. Any
            // other event goes to the followers of the group it names; before the hub's answer names a group, an event
            // of a group not known yet is the join's (joins run one at a time): its replay or its catch-up.
            var followers = change.Operation == ChangeOperation.Snapshot
                ? _joining is { Snapshot: true } joining ? joining.Joining : null
                : change.Group is { } group && _keysByGroup.TryGetValue(group, out var key) ? FollowersDuringJoin(key)
                : _joining is { } join ? FollowersDuringJoin(join.Key) : null;
            foreach (var follower in followers ?? []) await follower.OfferAsync(Routed.Of(change)).ConfigureAwait(false);
            await RunDueBarriersAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A join mark of the server (see <see cref="ChangeHubContract.JoinMark"/>): the join in flight begins here,
    /// or its own events end here.</summary>
    public async Task MarkAsync(NumberedJoinMark mark, int epoch)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (epoch != _epoch) return;
            _routed = mark.Number;
            _marksJoins = true;
            _joining?.Marked(mark.End, mark.Gap);
            await RunDueBarriersAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Marks the beginning of a join in every follower of its group, at this point of the stream, and from
    /// there on routes the group's events to the joining followers too (adding those that are new). Both at once: an
    /// event routed between them would reach a new follower as a live event from before its start.</summary>
    public async Task<GroupJoin> BeginJoinAsync(SubscriptionKey key, IReadOnlyCollection<IFollower> joining, bool snapshot)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var follower in joining.Where(follower => !FollowersOf(key).Contains(follower))) Add(follower);
            var join = new GroupJoin(key, joining, snapshot);
            _joining = join;
            await SignalAsync(key, new JoinBegan(join)).ConfigureAwait(false);
            return join;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Ends the join once routing has passed every event the hub sent before <paramref name="answer"/>: then
    /// the group's name is known (or the refusal final), and every follower of the group is told. Throws the refusal,
    /// or an <see cref="IOException"/> when the connection was lost first.</summary>
    public async Task<SubscribeResult> EndJoinAsync(GroupJoin join, HubAnswer answer, int epoch)
    {
        await AtAsync(answer.FramesBefore, epoch, async () =>
        {
            if (_joining != join) return;
            if (answer.Error is { } error)
            {
                await EndAsync(join, new HubException(error)).ConfigureAwait(false);
                return;
            }
            var result = answer.Result.Deserialize(ZgresJsonContext.Default.SubscribeResult)
                ?? throw new InvalidDataException("The hub answered a subscribe with nothing.");
            _keysByGroup = _keysByGroup.SetItem(result.Group, join.Key);
            await EndAsync(join, null, result).ConfigureAwait(false);
        }).ConfigureAwait(false);
        await join.Ended.ConfigureAwait(false);
        return join.Result!;
    }

    /// <summary>The join's request failed without an answer (the connection went): no event of it will be routed.</summary>
    public async Task AbandonAsync(GroupJoin join, Exception reason)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_joining == join) await EndAsync(join, new IOException($"The connection was lost while joining {join.Key.Table}.", reason)).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Once routing has passed every event sent before a numbered answer, hands each follower a flush and waits
    /// until each has handed over all it had before it.</summary>
    public async Task FlushAsync(long framesBefore, int epoch, CancellationToken cancellationToken)
    {
        var flushed = new List<Task>();
        await AtAsync(framesBefore, epoch, async () =>
        {
            foreach (var follower in _followers.Values.SelectMany(followers => followers))
            {
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                flushed.Add(done.Task);
                await follower.OfferAsync(Routed.Of(new Flush(done))).ConfigureAwait(false);
            }
        }).WaitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(flushed).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The hub left the group of <paramref name="key"/>: its name is forgotten once routing has passed every
    /// event sent before the hub's answer, so that none of them is taken for a later join's.</summary>
    public Task ForgetGroupAsync(SubscriptionKey key, HubAnswer answer, int epoch) =>
        AtAsync(answer.FramesBefore, epoch, () =>
        {
            if (!_followers.ContainsKey(key)) _keysByGroup = _keysByGroup.RemoveRange(_keysByGroup.Where(named => named.Value == key).Select(named => named.Key));
            return ValueTask.CompletedTask;
        });

    /// <summary>A new connection replaces the lost one: the old one's frames still queued are dropped from now on (its
    /// groups are gone; the re-joins replay what they held), a join in flight is abandoned, and what waited for a point
    /// of the old stream fails.</summary>
    public async Task<int> BeginConnectionAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var epoch = ++_epoch;
            _routed = 0;
            _marksJoins = false;
            _keysByGroup = ImmutableDictionary<string, SubscriptionKey>.Empty;
            var lost = new IOException("The connection was lost before the hub's answer was handled.");
            foreach (var barrier in _barriers) barrier.Done.TrySetException(lost);
            _barriers.Clear();
            if (_joining is { } join) await EndAsync(join, lost).ConfigureAwait(false);
            return epoch;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private ImmutableArray<IFollower> FollowersOf(SubscriptionKey key) => _followers.GetValueOrDefault(key, []);

    /// <summary>
    /// Who gets an event of the group of <paramref name="key"/>. While the group is being joined by some of its followers
    /// and the server marks joins: what it sent before the join began is the others' (the joining ones get it in their
    /// replay, their catch-up or their snapshot, or it is older than what they asked for), what it sends between the
    /// marks is the joining ones' own, and what follows the end mark is everyone's.
    /// </summary>
    private IEnumerable<IFollower> FollowersDuringJoin(SubscriptionKey key)
    {
        var followers = FollowersOf(key);
        if (_joining is not { } join || join.Key != key) return followers;
        return join.Stage switch
        {
            JoinStage.Asked when _marksJoins => followers.Where(follower => !join.IsFor(follower)),
            JoinStage.Begun => followers.Where(join.IsFor),
            _ => followers,
        };
    }

    private async Task SignalAsync(SubscriptionKey key, RoutedSignal signal)
    {
        foreach (var follower in FollowersOf(key)) await follower.OfferAsync(Routed.Of(signal)).ConfigureAwait(false);
    }

    // Under the gate.
    private async Task EndAsync(GroupJoin join, Exception? failure, SubscribeResult? result = null)
    {
        _joining = null;
        if (failure is null) join.Succeed(result!); else join.Fail(failure);
        await SignalAsync(join.Key, new JoinEnded(join)).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="action"/> (under the gate) once routing has passed <paramref name="framesBefore"/>
    /// frames of connection <paramref name="epoch"/>; fails when that connection is gone.</summary>
    private async Task AtAsync(long framesBefore, int epoch, Func<ValueTask> action)
    {
        Task done;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (epoch != _epoch) throw new IOException("The connection was lost before the hub's answer was handled.");
            if (_routed >= framesBefore)
            {
                await action().ConfigureAwait(false);
                return;
            }
            var barrier = new Barrier(framesBefore, action);
            var at = _barriers.FindIndex(waiting => waiting.At > framesBefore);
            _barriers.Insert(at < 0 ? _barriers.Count : at, barrier);
            done = barrier.Done.Task;
        }
        finally
        {
            _gate.Release();
        }
        await done.ConfigureAwait(false);
    }

    // Under the gate; barriers are few (a join, flushes, leaves) and kept in the order of their points.
    private async Task RunDueBarriersAsync()
    {
        while (_barriers.Count > 0 && _barriers[0].At <= _routed)
        {
            var barrier = _barriers[0];
            _barriers.RemoveAt(0);
            try
            {
                await barrier.Action().ConfigureAwait(false);
                barrier.Done.TrySetResult();
            }
#pragma warning disable CA1031 // The waiter gets the failure; routing goes on.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                barrier.Done.TrySetException(exception);
            }
        }
    }

    private sealed record Barrier(long At, Func<ValueTask> Action)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
