using CsCheck;
using Zgres.Bench.Measure;

namespace Zgres.Tests.Units;

/// <summary>
/// The bench's oracle of delivery (<c>Zgres.Bench</c>): what it counts as new, duplicated, unexpected or never
/// committed, the latency it measures from a writer's acknowledgement, and the percentiles it reports. The
/// "lost / duplicated / unexpected" rows and the latencies in BENCHMARKS.md are only as right as these.
/// </summary>
public sealed class BenchAccountingTests
{
    [Fact]
    public void An_input_subscriber_counts_each_row_of_its_input_once_and_every_other_receipt_as_duplicated_or_unexpected()
    {
        var ledger = new ClientLedger(Follow.Input(2), inputs: 3);

        Assert.True(ledger.Add(new RowStamp(2, 0, 0)));
        Assert.True(ledger.Add(new RowStamp(2, 1, 0)));
        Assert.False(ledger.Add(new RowStamp(2, 1, 0)));
        Assert.False(ledger.Add(new RowStamp(1, 2, 0)));
        Assert.False(ledger.Add(new RowStamp(4, 0, 0)));
        Assert.False(ledger.Add(new RowStamp(2, -1, 0)));
        Assert.True(ledger.Add(new RowStamp(2, 200, 0)));

        Assert.Equal((3L, 1L, 3L), (ledger.Distinct, ledger.Duplicates, ledger.Unexpected));
        // Input 2's writer committed rows 0 and 1 only: row 200 was never committed.
        Assert.Equal(1, ledger.BeyondCommitted([0, 9, 2, 9]));
    }

    [Fact]
    public void A_region_follower_takes_rows_of_its_region_from_every_input_and_nothing_of_another_region()
    {
        var ledger = new ClientLedger(Follow.InRegion(1), inputs: 3);

        Assert.True(ledger.Add(new RowStamp(1, 0, 0, Region: 1)));
        Assert.True(ledger.Add(new RowStamp(3, 0, 0, Region: 1)));
        Assert.False(ledger.Add(new RowStamp(2, 0, 0, Region: 2)));

        Assert.Equal((2L, 0L, 1L), (ledger.Distinct, ledger.Duplicates, ledger.Unexpected));
    }

    [Fact]
    public void Any_sequence_of_receipts_is_counted_as_a_set_of_what_was_owed_would_count_it()
    {
        var receipts = Gen.Select(Gen.Int[-1, 5], Gen.Long[-2, 300], Gen.Int[0, 3], (input, seq, region) => new RowStamp(input, seq, 0, region));
        var follows = Gen.OneOf(Gen.Const(Follow.WholeTable), Gen.Int[1, 4].Select(Follow.Input), Gen.Int[1, 3].Select(Follow.InRegion));
        Gen.Select(follows, receipts.Array[0, 400], Gen.Long[0, 300].Array[5]).Sample((follow, rows, committed) =>
        {
            var ledger = new ClientLedger(follow, inputs: 4);
            var owed = new HashSet<(int, long)>();
            var (duplicates, unexpected) = (0L, 0L);
            foreach (var row in rows)
            {
                var mine = row.InputId is >= 1 and <= 4 && row.Seq >= 0
                    && (follow.InputId is not int input || input == row.InputId) && (follow.Region is not int region || region == row.Region);
                var isNew = mine && owed.Add((row.InputId, row.Seq));
                if (!mine) unexpected++;
                else if (!isNew) duplicates++;
                Assert.Equal(isNew, ledger.Add(row));
            }
            Assert.Equal((owed.Count, duplicates, unexpected), (ledger.Distinct, ledger.Duplicates, ledger.Unexpected));
            Assert.Equal(owed.Count(received => received.Item2 >= committed[received.Item1]), ledger.BeyondCommitted(committed));
        });
    }

    [Fact]
    public void Latency_after_the_acknowledgement_counts_from_the_acknowledgement_while_it_is_kept_and_from_the_stamp_once_pruned()
    {
        const long second = 1_000_000;
        var delivery = new Delivery(inputs: 1);
        var ledger = new ClientLedger(Follow.Input(1), inputs: 1);
        var now = Clock.NowMicroseconds();
        // A transaction sent 70 s ago and acknowledged 65 s ago, then 4,095 more acknowledged 1.5 s ago: the last of them is
        // the 4,096th, whose prune drops what is more than a minute older than it.
        delivery.Acknowledged(now - 70 * second, now - 65 * second);
        for (var sent = 1; sent <= 4_095; sent++) delivery.Acknowledged(now - 2 * second - sent, now - 3 * second / 2);

        delivery.Record(ledger, new RowStamp(1, 0, now - 2 * second - 1));
        Assert.InRange(delivery.AfterAcknowledgement.Percentile(100), 3 * second / 2 * 97 / 100, 3 * second / 2 * 103 / 100 + second / 10);
        delivery.RestartLatency();
        delivery.Record(ledger, new RowStamp(1, 1, now - 70 * second));
        Assert.InRange(delivery.AfterAcknowledgement.Percentile(100), 70 * second * 97 / 100, 70 * second * 103 / 100 + second / 10);
        // A row whose transaction's acknowledgement has not come yet reached the client first: nothing after it.
        delivery.RestartLatency();
        delivery.Record(ledger, new RowStamp(1, 2, Clock.NowMicroseconds()));
        Assert.Equal(0, delivery.AfterAcknowledgement.Percentile(100));
        Assert.Equal(3, delivery.Distinct);
    }

    [Fact]
    public void A_percentile_of_the_histogram_is_the_nearest_rank_value_to_within_its_bucket()
    {
        Gen.Select(Gen.Long[0, 100_000_000].Array[1, 2_000], Gen.Double[0.01, 100]).Sample((values, percentile) =>
        {
            var histogram = new LatencyHistogram();
            foreach (var value in values) histogram.Record(value);
            var sorted = values.Order().ToArray();
            var exact = sorted[Math.Max(1, (int)Math.Ceiling(values.Length * percentile / 100.0)) - 1];

            // Buckets are a 32nd of a power of two wide, and a percentile is its bucket's middle (or the maximum).
            Assert.InRange(histogram.Percentile(percentile), exact - exact / 64, exact + exact / 64);
            Assert.Equal(sorted[^1], histogram.MaxMicroseconds);
        });
    }
}
