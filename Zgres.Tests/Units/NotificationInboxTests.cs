using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Listening;
using Zgres.AspNetCore.Tables;

namespace Zgres.Tests.Units;

/// <summary>What the listener takes from the notifications that arrived: carried events in order up to a doorbell, and
/// how many transactions announced themselves.</summary>
public sealed class NotificationInboxTests
{
    private static CarriedEvent Event(long id, ulong xid) =>
        new(xid, new ChangeRecord(id, new TableName("public", "t"), "INSERT", "1", null, "{}"u8.ToArray()));

    [Fact]
    public void Carried_events_are_taken_in_order_up_to_the_first_doorbell_and_the_rest_wait_for_the_read()
    {
        var inbox = new NotificationInbox();
        inbox.Carried(Event(1, 10));
        inbox.Carried(Event(2, 10));
        inbox.Rang();
        inbox.Carried(Event(3, 11));

        Assert.True(inbox.TryTakeCarried(out var first));
        Assert.True(inbox.TryTakeCarried(out var second));
        Assert.False(inbox.TryTakeCarried(out _));
        Assert.Equal([1L, 2L], [first.Change.Id, second.Change.Id]);
        Assert.False(inbox.IsEmpty);
        Assert.False(inbox.CarriedNext);
        inbox.Forget();
        Assert.True(inbox.IsEmpty);
    }

    [Fact]
    public void A_transaction_counts_once_however_many_events_it_carries_and_doorbells_each_count()
    {
        var inbox = new NotificationInbox();
        foreach (var id in Enumerable.Range(1, 10)) inbox.Carried(Event(id, 10));
        inbox.Carried(Event(11, 11));
        inbox.Rang();
        inbox.Rang();

        Assert.Equal(4, inbox.Announced);
        inbox.Forget();
        Assert.Equal(0, inbox.Announced);
    }

    [Fact]
    public void Beyond_the_limit_carried_events_give_way_to_one_doorbell_at_the_end_so_a_read_takes_them()
    {
        var inbox = new NotificationInbox();
        for (var id = 1; id <= NotificationInbox.MaxWaitingEvents + 5; id++) inbox.Carried(Event(id, (ulong)id));

        var taken = 0;
        while (inbox.TryTakeCarried(out _)) taken++;

        Assert.Equal(NotificationInbox.MaxWaitingEvents, taken);
        Assert.False(inbox.IsEmpty);
        Assert.False(inbox.CarriedNext);
    }
}
