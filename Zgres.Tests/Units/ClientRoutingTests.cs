using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Zgres.Client;
using Zgres.Client.Connection;
using Zgres.Client.Routing;

namespace Zgres.Tests.Units;

/// <summary>The .NET client's routing: SignalR completes a request on its receive loop while events sent before the
/// answer may still wait in its handler queue, so a join ends only once routing has passed them.</summary>
public sealed class ClientRoutingTests
{
    private static readonly SubscriptionKey Orders = new("public.orders", null);

    [Fact]
    public void The_protocol_numbers_each_change_and_join_mark_as_it_is_parsed_and_stamps_an_answer_even_a_refusal_with_how_many_came_before()
    {
        var protocol = new FrameNumberingProtocol(new JsonHubProtocol());
        var input = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(
            Change(1) + Change(2) + "{\"type\":3,\"invocationId\":\"7\",\"error\":\"HubException: no\"}\u001e"
            + "{\"type\":1,\"target\":\"JoinMark\",\"arguments\":[{\"group\":\"g\",\"end\":false,\"gap\":false}]}\u001e"
            + "{\"type\":1,\"target\":\"JoinMark\",\"arguments\":[{\"group\":\"g\",\"end\":true}]}\u001e" + Change(3)
            + "{\"type\":3,\"invocationId\":\"8\",\"result\":{\"group\":\"g\"}}\u001e"));
        var parsed = new List<HubMessage>();
        while (protocol.TryParseMessage(ref input, new Binder(), out var message)) parsed.Add(message);

        Assert.Equal([1L, 2L], parsed.Take(2).Select(m => ((NumberedChange)((InvocationMessage)m).Arguments[0]!).Number));
        var refusal = (HubAnswer)((CompletionMessage)parsed[2]).Result!;
        Assert.Equal((2L, "HubException: no"), (refusal.FramesBefore, refusal.Error));
        Assert.Equal(new NumberedJoinMark(End: false, 3, Gap: false), ((InvocationMessage)parsed[3]).Arguments[0]);
        Assert.Equal(new NumberedJoinMark(End: true, 4), ((InvocationMessage)parsed[4]).Arguments[0]);
        Assert.Equal(5L, ((NumberedChange)((InvocationMessage)parsed[5]).Arguments[0]!).Number);
        var answer = (HubAnswer)((CompletionMessage)parsed[6]).Result!;
        Assert.Equal((5L, "g", (string?)null), (answer.FramesBefore, answer.Result.GetProperty("group").GetString(), answer.Error));
    }

    [Fact]
    public async Task Rows_of_a_refused_snapshot_still_queued_behind_its_answer_reach_the_refused_request_and_never_the_retry()
    {
        using var router = new Router();
        var cut = new Recording(Orders);
        var first = await router.BeginJoinAsync(Orders, [cut], snapshot: true);
        await router.RouteAsync(new NumberedChange(Row(1), 1), epoch: 0);
        // The refusal was parsed after three rows; two of them are still on their way to routing.
        var refused = router.EndJoinAsync(first, new HubAnswer(default, 3, "HubException: database unavailable"), epoch: 0);
        Assert.False(refused.IsCompleted);
        await router.RouteAsync(new NumberedChange(Row(2), 2), epoch: 0);
        await router.RouteAsync(new NumberedChange(Row(3), 3), epoch: 0);
        await Assert.ThrowsAsync<HubException>(() => refused);
        router.Remove(cut);

        var retry = new Recording(Orders);
        var second = await router.BeginJoinAsync(Orders, [retry], snapshot: true);
        await router.RouteAsync(new NumberedChange(Row(1), 4), epoch: 0);
        var result = await router.EndJoinAsync(second, new HubAnswer(JsonDocument.Parse("""{"table":"public.orders","group":"table:public.orders","gap":false,"resumeAfter":9}""").RootElement, 4, null), epoch: 0);
        await router.RouteAsync(new NumberedChange(Row(2) with { Operation = ChangeOperation.Update, Id = 10 }, 5), epoch: 0);

        Assert.Equal(["began", "row 1", "row 2", "row 3", "ended refused"], cut.Items);
        Assert.Equal(["began", "row 1", "ended joined", "UPDATE 10"], retry.Items);
        Assert.Equal("table:public.orders", result.Group);
    }

    [Fact]
    public async Task A_lost_connection_ends_the_join_in_flight_and_drops_what_the_old_connection_still_had_queued()
    {
        using var router = new Router();
        var follower = new Recording(Orders);
        var join = await router.BeginJoinAsync(Orders, [follower], snapshot: false);
        var answered = router.EndJoinAsync(join, new HubAnswer(default, 2, null), epoch: 0);

        var epoch = await router.BeginConnectionAsync();
        await router.RouteAsync(new NumberedChange(Row(1) with { Operation = ChangeOperation.Insert, Id = 5 }, 1), epoch: 0);

        await Assert.ThrowsAsync<IOException>(() => answered);
        Assert.Equal(1, epoch);
        Assert.Equal(["began", "ended lost"], follower.Items);
    }

    /// <summary>Two subscriptions of one client share the group; the second joins it with a replay while events flow.
    /// What the server sent before its join point is the first's, the replay between the marks the second's, and what
    /// follows both's; with a server that marks nothing (an earlier version), every event goes to both, as before.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_servers_join_marks_tell_the_replay_of_a_subscription_joining_a_followed_group_from_the_live_events_of_the_others(bool marked)
    {
        using var router = new Router();
        var frame = 0L;
        async Task MarkAsync(bool end)
        {
            if (marked) await router.MarkAsync(new NumberedJoinMark(end, ++frame), epoch: 0);
        }
        Task SendAsync(long id) => router.RouteAsync(new NumberedChange(Row(id) with { Operation = ChangeOperation.Insert, Id = id }, ++frame), epoch: 0);
        var first = new Recording(Orders);
        var joiningFirst = await router.BeginJoinAsync(Orders, [first], snapshot: false);
        await MarkAsync(end: false);
        await MarkAsync(end: true);
        await router.EndJoinAsync(joiningFirst, Answer(frame), epoch: 0);
        await SendAsync(5);

        var second = new Recording(Orders);
        var joiningSecond = await router.BeginJoinAsync(Orders, [second], snapshot: false);
        await SendAsync(6);
        await MarkAsync(end: false);
        await SendAsync(2);
        await SendAsync(6);
        await MarkAsync(end: true);
        await SendAsync(7);
        await router.EndJoinAsync(joiningSecond, Answer(frame), epoch: 0);
        await SendAsync(8);

        Assert.Equal(marked
            ? ["began", "ended joined", "INSERT 5", "began", "INSERT 6", "INSERT 7", "ended joined", "INSERT 8"]
            : ["began", "ended joined", "INSERT 5", "began", "INSERT 6", "INSERT 2", "INSERT 6", "INSERT 7", "ended joined", "INSERT 8"],
            first.Items);
        Assert.Equal(marked
            ? ["began", "INSERT 2", "INSERT 6", "INSERT 7", "ended joined", "INSERT 8"]
            : ["began", "INSERT 6", "INSERT 2", "INSERT 6", "INSERT 7", "ended joined", "INSERT 8"],
            second.Items);
    }

    private static HubAnswer Answer(long framesBefore) =>
        new(JsonDocument.Parse("""{"table":"public.orders","group":"table:public.orders","gap":false,"resumeAfter":0}""").RootElement, framesBefore, null);

    private static string Change(long id) =>
        $$"""{"type":1,"target":"Change","arguments":[{"id":{{id}},"timestamp":"2026-12-04T00:00:00Z","operation":"INSERT","schema":"public","table":"orders","inputId":null,"data":{"id":{{id}}},"old":null,"group":"table:public.orders"}]}""" + "\u001e";

    private static ChangeEvent Row(long id) =>
        new(0, DateTimeOffset.UnixEpoch, ChangeOperation.Snapshot, "public", "orders", null, JsonDocument.Parse($$"""{"id":{{id}}}""").RootElement, null, "table:public.orders", InFilter: true);

    private sealed class Binder : IInvocationBinder
    {
        public Type GetReturnType(string invocationId) => typeof(HubAnswer);

        public IReadOnlyList<Type> GetParameterTypes(string methodName) =>
            [methodName == ChangeHubContract.JoinMark ? typeof(NumberedJoinMark) : typeof(NumberedChange)];

        public Type GetStreamItemType(string streamId) => throw new NotSupportedException();
    }

    /// <summary>What routing handed a follower, as short text.</summary>
    private sealed class Recording(SubscriptionKey key) : IFollower
    {
        public List<string> Items { get; } = [];

        public SubscriptionKey Key => key;

        public IReadOnlyList<FilterCondition>? Filter => null;

        public long? ResumeAfter => null;

        public ValueTask OfferAsync(Routed item)
        {
            Items.Add(item switch
            {
                { Change: { Operation: ChangeOperation.Snapshot } row } => $"row {row.Data.GetProperty("id")}",
                { Change: { } change } => $"{change.Operation.ToString().ToUpperInvariant()} {change.Id}",
                { Signal: JoinBegan } => "began",
                { Signal: JoinEnded { Join.Failure: HubException } } => "ended refused",
                { Signal: JoinEnded { Join.Failure: IOException } } => "ended lost",
                { Signal: JoinEnded } => "ended joined",
                _ => "?",
            });
            return ValueTask.CompletedTask;
        }

        public void Joined(long newestAtJoin) { }

        public bool IsNewGap(long after) => true;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
