using Zgres.AspNetCore.Capture.Wal;

namespace Zgres.Tests.Units;

/// <summary>The WAL leader finds the insert it prepared for a mix of tables by the mix's ids, given as a span.</summary>
public sealed class IdSequenceComparerTests
{
    [Fact]
    public void A_mix_added_by_span_is_found_again_by_an_equal_span_and_only_by_one()
    {
        var inserts = new Dictionary<int[], string>(IdSequenceComparer.Instance);
        var lookup = inserts.GetAlternateLookup<ReadOnlySpan<int>>();

        lookup[[1, 3]] = "1,3";
        for (var i = 0; i < 100; i++) lookup.TryAdd([i + 10, i + 11], "grows the dictionary past its first size");

        Assert.True(lookup.TryGetValue([1, 3], out var found));
        Assert.Equal("1,3", found);
        Assert.True(inserts.ContainsKey([1, 3]));
        Assert.False(lookup.ContainsKey([1]));
        Assert.False(lookup.ContainsKey([1, 3, 4]));
        Assert.False(lookup.ContainsKey([3, 1]));
        Assert.False(lookup.ContainsKey([]));
    }
}
