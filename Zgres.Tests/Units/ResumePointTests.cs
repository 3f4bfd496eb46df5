using System.Text.Json;
using Zgres.Client;
using Zgres.Client.Routing;

namespace Zgres.Tests.Units;

/// <summary>Where a subscription of the .NET client resumes after a reconnect: what a join brings counts once the hub has
/// answered it, so that a resume whose answer (which may have said "gap") was lost is asked again from the same point.</summary>
public sealed class ResumePointTests
{
    private static readonly SubscriptionKey Orders = new("public.orders", null);

    [Fact]
    public async Task What_a_join_brings_moves_the_resume_point_once_answered_and_not_at_all_when_its_answer_is_lost()
    {
        await using var client = new ZgresClient(new Uri("http://127.0.0.1:9"));
        var handled = new List<long>();
        var subscription = new ZgresSubscription(client, Orders, filter: null, after: 10, change =>
        {
            lock (handled) handled.Add(change.Id);
            return Task.CompletedTask;
        }, new ZgresClientOptions());
        IFollower follower = subscription;
        follower.Joined(10);

        // A resume whose replay arrives, then the connection goes before the answer (which said: gap).
        var lost = new GroupJoin(Orders, [follower], snapshot: false);
        await follower.OfferAsync(Routed.Of(new JoinBegan(lost)));
        await follower.OfferAsync(Routed.Of(Insert(90)));
        await follower.OfferAsync(Routed.Of(Insert(91)));
        lost.Fail(new IOException("The connection was lost."));
        await follower.OfferAsync(Routed.Of(new JoinEnded(lost)));
        Assert.Equal(10, follower.ResumeAfter);

        // The next resume asks from 10 again: its repeats are dropped, and once answered what it brought counts.
        var answered = new GroupJoin(Orders, [follower], snapshot: false);
        await follower.OfferAsync(Routed.Of(new JoinBegan(answered)));
        foreach (var id in new long[] { 90, 91, 92 }) await follower.OfferAsync(Routed.Of(Insert(id)));
        Assert.Equal(10, follower.ResumeAfter);
        answered.Succeed(new SubscribeResult("public.orders", null, "table:public.orders", Gap: true, ResumeAfter: 92));
        await follower.OfferAsync(Routed.Of(new JoinEnded(answered)));
        Assert.Equal(92, follower.ResumeAfter);

        // Live events after the join move it as they come; each event reached the handler once.
        await follower.OfferAsync(Routed.Of(Insert(95)));
        Assert.Equal(95, follower.ResumeAfter);
        await follower.DisposeAsync();
        Assert.Equal([90L, 91, 92, 95], handled);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task What_a_replay_the_hub_marked_as_finding_a_gap_or_none_brings_moves_the_resume_point_even_when_its_answer_is_lost(bool gap)
    {
        await using var client = new ZgresClient(new Uri("http://127.0.0.1:9"));
        IFollower follower = new ZgresSubscription(client, Orders, filter: null, after: 10, _ => Task.CompletedTask, new ZgresClientOptions());
        follower.Joined(10);

        // Cut in the middle of a long replay: the next resume goes on after what this one delivered (after a gap, which
        // the client reports itself: the next join will not find it again).
        var cut = new GroupJoin(Orders, [follower], snapshot: false);
        await follower.OfferAsync(Routed.Of(new JoinBegan(cut)));
        cut.Marked(end: false, gap);
        await follower.OfferAsync(Routed.Of(Insert(90)));
        await follower.OfferAsync(Routed.Of(Insert(91)));
        Assert.Equal(10, follower.ResumeAfter);
        cut.Fail(new IOException("The connection was lost."));
        await follower.OfferAsync(Routed.Of(new JoinEnded(cut)));
        Assert.Equal(91, follower.ResumeAfter);
        Assert.Equal(gap, cut.FoundGap);

        // A replay whose mark does not say (a server of an earlier version) counts only once answered.
        var unmarked = new GroupJoin(Orders, [follower], snapshot: false);
        await follower.OfferAsync(Routed.Of(new JoinBegan(unmarked)));
        unmarked.Marked(end: false, gap: null);
        await follower.OfferAsync(Routed.Of(Insert(95)));
        unmarked.Fail(new IOException("The connection was lost."));
        await follower.OfferAsync(Routed.Of(new JoinEnded(unmarked)));
        Assert.Equal(91, follower.ResumeAfter);
        Assert.False(unmarked.FoundGap);
        await follower.DisposeAsync();
    }

    [Fact]
    public async Task A_gap_is_news_to_a_subscription_once_for_each_point_it_resumed_from()
    {
        await using var client = new ZgresClient(new Uri("http://127.0.0.1:9"));
        IFollower follower = new ZgresSubscription(client, Orders, filter: null, after: 10, _ => Task.CompletedTask, new ZgresClientOptions());

        // A resume cut before it delivered anything asks again from 10 and finds the gap again: not news.
        Assert.True(follower.IsNewGap(10));
        Assert.False(follower.IsNewGap(10));
        Assert.True(follower.IsNewGap(91));
        await follower.DisposeAsync();
    }

    private static ChangeEvent Insert(long id) =>
        new(id, DateTimeOffset.UnixEpoch, ChangeOperation.Insert, "public", "orders", null, JsonDocument.Parse($$"""{"id":{{id}}}""").RootElement, null, "table:public.orders");
}
