using NpgsqlTypes;
using Zgres.AspNetCore.Capture.Wal;

namespace Zgres.Tests.Units;

/// <summary>What a new leader skips when it decodes again from the slot's confirmed position.</summary>
public sealed class WalProgressTests
{
    private static readonly NpgsqlLogSequenceNumber Earlier = new(100), Held = new(200), Later = new(300);

    [Theory]
    [InlineData(100, 0, true)]
    [InlineData(200, 2, true)]
    [InlineData(200, 3, false)]
    [InlineData(300, 0, false)]
    public void A_change_is_held_when_its_transaction_committed_before_the_recorded_one_or_is_its_written_part(ulong commit, long index, bool held) =>
        Assert.Equal(held, new WalProgress(Held, Written: 3, Complete: false).Holds(new NpgsqlLogSequenceNumber(commit), index));

    [Fact]
    public void Decoding_again_a_commit_the_log_already_held_leaves_the_progress_where_it_was()
    {
        var progress = new WalProgress(Held, Written: 3, Complete: false);

        Assert.Equal(progress, progress.Committed(Earlier));
        Assert.Equal(new WalProgress(Held, 3, Complete: true), progress.Committed(Held));
        Assert.True(progress.Committed(Later).Holds(Later, index: 1_000));
        Assert.False(progress.Committed(Later).Holds(new NpgsqlLogSequenceNumber(301), index: 0));
    }
}
