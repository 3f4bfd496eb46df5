using Zgres.AspNetCore.EventLog;

namespace Zgres.Tests.Units;

/// <summary>When the stream has read everything a snapshot saw, and how a filtered event is framed.</summary>
public sealed class StreamPositionTests
{
    [Theory]
    // Taken later, with nothing open: covers.
    [InlineData("100:105:", "100:100:", true)]
    // The same snapshot covers itself.
    [InlineData("100:105:101,103", "100:105:101,103", true)]
    // 103 was committed for the snapshot (below its xmax, not open) but the position still sees it open: not yet.
    [InlineData("100:105:103", "100:104:", false)]
    // The position saw fewer xids than the snapshot: not yet.
    [InlineData("100:103:", "100:105:", false)]
    // 101 was open for both: the position need not have read it; it comes live later.
    [InlineData("101:106:101", "101:104:101", true)]
    // 102 was open for the snapshot and is still open for the position: fine, it comes live.
    [InlineData("102:110:102,107", "100:105:102", true)]
    public void A_position_covers_a_snapshot_when_it_sees_every_transaction_the_snapshot_saw(string position, string snapshot, bool covers) =>
        Assert.Equal(covers, new LogPosition(position, 0).Covers(snapshot));
}
