using Zgres.AspNetCore.Operations;

namespace Zgres.Tests.Units;

/// <summary>When the server gives memory back: once the collector has been idle after a burst, and only then.</summary>
public sealed class MemoryTrimPolicyTests
{
    private const long Megabyte = 1L << 20;
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(10);

    // Measured in the replay-storm bench: 12 MB committed at start, 38 when quiet, 78 left by the storm around a heap of
    // 37 MB. These servers allocate nothing, unless a test says so.
    private static readonly CollectionState Started = new(Collections: 1, CommittedBytes: 12 * Megabyte, HeapBytes: 8 * Megabyte, AllocatedBytes: 0);
    private static readonly CollectionState Quiet = new(Collections: 12, CommittedBytes: 38 * Megabyte, HeapBytes: 30 * Megabyte, AllocatedBytes: 0);
    private static readonly CollectionState AfterStorm = new(Collections: 40, CommittedBytes: 78 * Megabyte, HeapBytes: 37 * Megabyte, AllocatedBytes: 0);

    private static TimeSpan At(double seconds) => TimeSpan.FromSeconds(seconds);

    /// <summary>A policy that has seen the server start and then sit quiet long enough to know its usual size.</summary>
    private static MemoryTrimPolicy KnowingTheQuietServer()
    {
        var policy = new MemoryTrimPolicy(Idle);
        policy.ShouldTrim(Started, At(0));
        policy.ShouldTrim(Quiet, At(5));
        Assert.False(policy.ShouldTrim(Quiet, At(15)));
        return policy;
    }

    [Fact]
    public void Memory_a_burst_left_is_given_back_once_no_collection_has_run_for_the_idle_time()
    {
        var policy = KnowingTheQuietServer();

        Assert.False(policy.ShouldTrim(AfterStorm, At(100)));
        Assert.False(policy.ShouldTrim(AfterStorm, At(109.9)));
        Assert.True(policy.ShouldTrim(AfterStorm, At(110)));
    }

    [Fact]
    public void A_collection_restarts_the_idle_time()
    {
        var policy = KnowingTheQuietServer();
        policy.ShouldTrim(AfterStorm, At(100));

        Assert.False(policy.ShouldTrim(AfterStorm with { Collections = 41 }, At(102.5)));
        Assert.False(policy.ShouldTrim(AfterStorm with { Collections = 41 }, At(112)));
        Assert.True(policy.ShouldTrim(AfterStorm with { Collections = 41 }, At(112.5)));
    }

    [Fact]
    public void An_idle_server_at_its_usual_size_is_left_alone()
    {
        var policy = KnowingTheQuietServer();

        Assert.False(policy.ShouldTrim(Quiet, At(600)));
        var grownALittle = Quiet with { Collections = 13, CommittedBytes = Quiet.CommittedBytes + MemoryTrimPolicy.WorthTrimming - 1 };
        policy.ShouldTrim(grownALittle, At(700));
        Assert.False(policy.ShouldTrim(grownALittle, At(800)));
    }

    [Fact]
    public void Before_it_was_ever_idle_the_server_is_compared_with_the_size_it_started_with()
    {
        var policy = new MemoryTrimPolicy(Idle);
        policy.ShouldTrim(Started, At(0));
        policy.ShouldTrim(AfterStorm, At(30));

        Assert.True(policy.ShouldTrim(AfterStorm, At(40)));
    }

    [Fact]
    public void After_a_trim_the_usual_size_is_learned_again_from_the_next_idle_collections()
    {
        var policy = KnowingTheQuietServer();
        policy.ShouldTrim(AfterStorm, At(100));
        Assert.True(policy.ShouldTrim(AfterStorm, At(110)));
        var trimmed = new CollectionState(AfterStorm.Collections + 1, 20 * Megabyte, 18 * Megabyte, 0);
        policy.Trimmed(trimmed.Collections);

        // What the trim left is below the usual size: the server's own next collections, once idle, set it.
        policy.ShouldTrim(trimmed, At(111));
        Assert.False(policy.ShouldTrim(trimmed, At(200)));
        var usualAgain = new CollectionState(trimmed.Collections + 1, 53 * Megabyte, 30 * Megabyte, 0);
        policy.ShouldTrim(usualAgain, At(210));
        Assert.False(policy.ShouldTrim(usualAgain, At(300)));
        var nextStorm = usualAgain with { Collections = usualAgain.Collections + 30, CommittedBytes = usualAgain.CommittedBytes + MemoryTrimPolicy.WorthTrimming };
        policy.ShouldTrim(nextStorm with { Collections = nextStorm.Collections - 1 }, At(397.5));
        policy.ShouldTrim(nextStorm, At(400));
        Assert.True(policy.ShouldTrim(nextStorm, At(410)));
    }

    [Fact]
    public void Memory_the_heap_fills_is_not_trimmed_however_far_above_the_usual_size()
    {
        var policy = KnowingTheQuietServer();
        var grownHeap = AfterStorm with { HeapBytes = AfterStorm.CommittedBytes - MemoryTrimPolicy.WorthTrimming + Megabyte };
        policy.ShouldTrim(grownHeap, At(100));

        Assert.False(policy.ShouldTrim(grownHeap, At(200)));
    }

    [Fact]
    public void A_busy_server_whose_collections_are_far_apart_is_not_trimmed_since_it_would_take_the_memory_back_at_once()
    {
        // Measured in the latency bench after 2,000 clients connected: collections 15-30 s apart leaving 106 MB committed
        // around a heap of 64 MB, the server allocating 2.7 MB a second; a trim there gave back 42 MB, taken again in 11 s.
        var policy = new MemoryTrimPolicy(Idle);
        policy.ShouldTrim(new CollectionState(1, 11 * Megabyte, 8 * Megabyte, 0), At(0));
        var busy = new CollectionState(5, 106 * Megabyte, 64 * Megabyte, 40 * Megabyte);
        policy.ShouldTrim(busy, At(15));

        Assert.False(policy.ShouldTrim(busy with { AllocatedBytes = busy.AllocatedBytes + 27 * Megabyte }, At(25)));
        Assert.False(policy.ShouldTrim(busy with { AllocatedBytes = busy.AllocatedBytes + 54 * Megabyte }, At(35)));
    }

    [Fact]
    public void A_server_that_would_not_fill_the_memory_again_within_the_refill_time_is_trimmed()
    {
        // 40 MB to give back: at 2 MB a second the server would take it again in 20 s, within the refill time; at 1 MB a
        // second, in 40 s.
        Assert.False(AfterTheStormAllocating(20 * Megabyte).ShouldTrim(AfterStorm with { AllocatedBytes = 20 * Megabyte }, At(110)));
        Assert.True(AfterTheStormAllocating(10 * Megabyte).ShouldTrim(AfterStorm with { AllocatedBytes = 10 * Megabyte }, At(110)));

        static MemoryTrimPolicy AfterTheStormAllocating(long bytes)
        {
            var policy = KnowingTheQuietServer();
            policy.ShouldTrim(AfterStorm, At(100));
            return policy;
        }
    }

    [Fact]
    public void A_busy_server_whose_collections_keep_their_rhythm_is_not_trimmed_however_much_it_would_give_back()
    {
        // Measured in a 120 s latency bench: after the connects, collections every 24-25 s, the server allocating 3 MB a
        // second. 10.5 s after a gen1 collection that left 157 MB committed around a heap of 63 MB, a trim took it to 60 MB,
        // paused every client for 44-60 ms, and the server took the memory back within 30 s.
        var policy = new MemoryTrimPolicy(Idle);
        policy.ShouldTrim(new CollectionState(1, 11 * Megabyte, 8 * Megabyte, 0), At(0));
        var busy = new CollectionState(3, 100 * Megabyte, 70 * Megabyte, 0);
        for (var collection = 0; collection < 4; collection++)
        {
            busy = busy with { Collections = busy.Collections + 1, AllocatedBytes = busy.AllocatedBytes + 75 * Megabyte };
            policy.ShouldTrim(busy, At(17 + 25 * collection));
        }
        var afterGen1 = busy with { Collections = busy.Collections + 1, CommittedBytes = 157 * Megabyte, HeapBytes = 63 * Megabyte, AllocatedBytes = busy.AllocatedBytes + 75 * Megabyte };
        policy.ShouldTrim(afterGen1, At(117));

        for (var second = 120; second < 167; second += 2)
        {
            Assert.False(policy.ShouldTrim(afterGen1 with { AllocatedBytes = afterGen1.AllocatedBytes + (second - 117) * 3 * Megabyte }, At(second)));
        }
    }

    [Fact]
    public void After_slow_snapshot_readers_the_memory_they_left_is_given_back_while_live_clients_go_on()
    {
        // Measured (dotnet-counters, slow-snapshots bench): the storm's last collection left 147 MB committed around a
        // heap of 85 MB, against 41 MB quiet; then no collection, 200 live clients allocating 1.1 MB a second.
        var policy = new MemoryTrimPolicy(Idle);
        policy.ShouldTrim(new CollectionState(1, 41 * Megabyte, 22 * Megabyte, 0), At(0));
        policy.ShouldTrim(new CollectionState(2, 41 * Megabyte, 22 * Megabyte, 0), At(11));
        Assert.False(policy.ShouldTrim(new CollectionState(2, 41 * Megabyte, 22 * Megabyte, 0), At(22)));
        var afterStorm = new CollectionState(40, 147 * Megabyte, 85 * Megabyte, 1_000 * Megabyte);
        policy.ShouldTrim(afterStorm, At(60));

        Assert.True(policy.ShouldTrim(afterStorm with { AllocatedBytes = afterStorm.AllocatedBytes + 11 * Megabyte }, At(70)));
    }

    [Theory]
    [InlineData(10, 2.5)]
    [InlineData(2, 1)]
    public void The_collector_is_looked_at_four_times_per_idle_time_and_at_most_once_a_second(double idleSeconds, double checkSeconds) =>
        Assert.Equal(At(checkSeconds), new MemoryTrimPolicy(At(idleSeconds)).CheckEvery);
}
