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
        policy.Next(Started, At(0));
        policy.Next(Quiet, At(5));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(Quiet, At(15)));
        return policy;
    }

    /// <summary>No trim at this reading: if the policy asks for a measure, the heap it finds (the same) is not worth one.</summary>
    private static void AssertLeftAlone(MemoryTrimPolicy policy, CollectionState reading, TimeSpan at)
    {
        var step = policy.Next(reading, at);
        Assert.NotEqual(MemoryTrimStep.Trim, step);
        if (step == MemoryTrimStep.MeasureHeap) Assert.False(policy.Measured(reading));
    }

    [Fact]
    public void Memory_a_burst_left_is_given_back_once_no_collection_has_run_for_the_idle_time()
    {
        var policy = KnowingTheQuietServer();

        Assert.Equal(MemoryTrimStep.Wait, policy.Next(AfterStorm, At(100)));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(AfterStorm, At(107.5)));
        Assert.Equal(MemoryTrimStep.Trim, policy.Next(AfterStorm, At(110)));
    }

    [Fact]
    public void A_reading_a_moment_before_the_idle_time_finds_the_server_idle_since_its_collection_ran_before_the_reading_that_saw_it()
    {
        // Measured: the timer's fourth reading after the one that saw a collection came 9.9997 s after it, and the next
        // collection came before the fifth, so a policy that wanted 10 s never trimmed.
        var policy = KnowingTheQuietServer();
        policy.Next(AfterStorm, At(100));

        Assert.Equal(MemoryTrimStep.Trim, policy.Next(AfterStorm, At(109.9997)));
    }

    [Fact]
    public void A_collection_restarts_the_idle_time()
    {
        var policy = KnowingTheQuietServer();
        policy.Next(AfterStorm, At(100));

        var collectedAgain = AfterStorm with { Collections = 41 };
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(collectedAgain, At(102.5)));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(collectedAgain, At(110)));
        Assert.Equal(MemoryTrimStep.Trim, policy.Next(collectedAgain, At(112.5)));
    }

    [Fact]
    public void An_idle_server_at_its_usual_size_is_left_alone()
    {
        var policy = KnowingTheQuietServer();

        Assert.Equal(MemoryTrimStep.Wait, policy.Next(Quiet, At(600)));
        var grownALittle = Quiet with { Collections = 13, CommittedBytes = Quiet.CommittedBytes + MemoryTrimPolicy.WorthTrimming - 1 };
        policy.Next(grownALittle, At(700));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(grownALittle, At(800)));
    }

    [Fact]
    public void Before_it_was_ever_idle_the_server_is_compared_with_the_size_it_started_with()
    {
        var policy = new MemoryTrimPolicy(Idle);
        policy.Next(Started, At(0));
        policy.Next(AfterStorm, At(30));

        Assert.Equal(MemoryTrimStep.Trim, policy.Next(AfterStorm, At(40)));
    }

    [Fact]
    public void After_a_trim_the_usual_size_is_learned_again_from_the_next_idle_collections()
    {
        var policy = KnowingTheQuietServer();
        policy.Next(AfterStorm, At(100));
        Assert.Equal(MemoryTrimStep.Trim, policy.Next(AfterStorm, At(110)));
        var trimmed = new CollectionState(AfterStorm.Collections + 1, 20 * Megabyte, 18 * Megabyte, 0);
        policy.Trimmed(trimmed.Collections);

        // What the trim left is below the usual size: the server's own next collections, once idle, set it.
        policy.Next(trimmed, At(111));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(trimmed, At(200)));
        var usualAgain = new CollectionState(trimmed.Collections + 1, 53 * Megabyte, 30 * Megabyte, 0);
        policy.Next(usualAgain, At(210));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(usualAgain, At(300)));
        var nextStorm = usualAgain with { Collections = usualAgain.Collections + 30, CommittedBytes = usualAgain.CommittedBytes + MemoryTrimPolicy.WorthTrimming };
        policy.Next(nextStorm with { Collections = nextStorm.Collections - 1 }, At(397.5));
        policy.Next(nextStorm, At(400));
        Assert.Equal(MemoryTrimStep.Trim, policy.Next(nextStorm, At(410)));
    }

    [Fact]
    public void Memory_the_heap_fills_is_not_trimmed_once_a_measure_finds_it_alive()
    {
        var policy = KnowingTheQuietServer();
        var grownHeap = AfterStorm with { HeapBytes = AfterStorm.CommittedBytes - MemoryTrimPolicy.WorthTrimming + Megabyte };
        policy.Next(grownHeap, At(100));

        Assert.Equal(MemoryTrimStep.MeasureHeap, policy.Next(grownHeap, At(110)));
        Assert.False(policy.Measured(grownHeap with { Collections = grownHeap.Collections + 1 }));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(grownHeap with { Collections = grownHeap.Collections + 1 }, At(200)));
    }

    [Fact]
    public void A_measure_waits_for_the_heap_to_grow_by_another_burst()
    {
        var policy = KnowingTheQuietServer();
        var alive = AfterStorm with { HeapBytes = 60 * Megabyte };
        policy.Next(alive, At(100));
        Assert.Equal(MemoryTrimStep.MeasureHeap, policy.Next(alive, At(110)));
        var measured = alive with { Collections = alive.Collections + 1 };
        Assert.False(policy.Measured(measured));

        var grownLessThanABurst = measured with { Collections = measured.Collections + 1, CommittedBytes = 90 * Megabyte, HeapBytes = 70 * Megabyte };
        policy.Next(grownLessThanABurst, At(200));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(grownLessThanABurst, At(210)));
        var grownByABurst = grownLessThanABurst with { Collections = grownLessThanABurst.Collections + 1, CommittedBytes = 120 * Megabyte, HeapBytes = 92 * Megabyte };
        policy.Next(grownByABurst, At(300));
        Assert.Equal(MemoryTrimStep.MeasureHeap, policy.Next(grownByABurst, At(310)));
    }

    [Fact]
    public void After_a_replay_storm_the_dead_replays_a_measure_finds_are_given_back_though_collections_keep_coming()
    {
        // Measured in the replay-storm bench (readings every 2.5 s): 37 MB committed when quiet; then 200 live clients
        // allocating 1.1 MB a second, a collection every 12-18 s, which the policy took for a busy server's rhythm and
        // never trimmed. Those young collections leave 91 MB committed around 57 MB of objects, most of them the storm's,
        // dead: a background collection found 42 MB alive, and a trim took the server to 30 MB.
        var policy = new MemoryTrimPolicy(Idle);
        var allocated = 150 * Megabyte;
        var quiet = new CollectionState(15, 37 * Megabyte, 18 * Megabyte, allocated);
        for (var second = 0.0; second <= 12.5; second += 2.5) policy.Next(quiet with { AllocatedBytes = allocated += 3 * Megabyte }, At(second));
        var stormsLast = new CollectionState(22, 86 * Megabyte, 55 * Megabyte, allocated += 150 * Megabyte);
        policy.Next(stormsLast, At(15));
        var afterStorm = stormsLast with { Collections = 23, CommittedBytes = 91 * Megabyte, HeapBytes = 57 * Megabyte, AllocatedBytes = allocated += 60 * Megabyte };
        policy.Next(afterStorm, At(30));

        Assert.Equal(MemoryTrimStep.Wait, policy.Next(afterStorm with { AllocatedBytes = allocated += 2750 * 1024 }, At(32.5)));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(afterStorm with { AllocatedBytes = allocated += 2750 * 1024 }, At(35)));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(afterStorm with { AllocatedBytes = allocated += 2750 * 1024 }, At(37.5)));
        Assert.Equal(MemoryTrimStep.MeasureHeap, policy.Next(afterStorm with { AllocatedBytes = allocated += 2750 * 1024 }, At(40)));
        Assert.True(policy.Measured(afterStorm with { Collections = 24, CommittedBytes = 93 * Megabyte, HeapBytes = 42 * Megabyte, AllocatedBytes = allocated }));
    }

    [Fact]
    public void What_a_burst_allocates_after_its_last_collection_is_not_taken_for_the_rate_the_server_goes_on_at()
    {
        // Measured in the replay-storm bench: the storm allocated 46 MB in the 5 s after its last collection, then the
        // live clients 1.1 MB a second; over the whole idle time that is 4.4 MB a second, enough to fill 130 MB in 30 s.
        var policy = KnowingTheQuietServer();
        var afterStorm = AfterStorm with { CommittedBytes = 100 * Megabyte, HeapBytes = 40 * Megabyte };
        policy.Next(afterStorm, At(100));
        policy.Next(afterStorm with { AllocatedBytes = 18 * Megabyte }, At(102.5));
        policy.Next(afterStorm with { AllocatedBytes = 46 * Megabyte }, At(105));
        policy.Next(afterStorm with { AllocatedBytes = 49 * Megabyte }, At(107.5));

        Assert.Equal(MemoryTrimStep.Trim, policy.Next(afterStorm with { AllocatedBytes = 52 * Megabyte }, At(110)));
    }

    [Fact]
    public void A_busy_server_whose_collections_are_far_apart_is_not_trimmed_since_it_would_take_the_memory_back_at_once()
    {
        // Measured in the latency bench after 2,000 clients connected: collections 15-30 s apart leaving 106 MB committed
        // around a heap of 64 MB, the server allocating 2.7 MB a second; a trim there gave back 42 MB, taken again in 11 s.
        var policy = new MemoryTrimPolicy(Idle);
        policy.Next(new CollectionState(1, 11 * Megabyte, 8 * Megabyte, 0), At(0));
        var busy = new CollectionState(5, 106 * Megabyte, 64 * Megabyte, 40 * Megabyte);
        policy.Next(busy, At(15));

        for (var second = 17.5; second < 45; second += 2.5)
        {
            AssertLeftAlone(policy, busy with { AllocatedBytes = busy.AllocatedBytes + (long)((second - 15) * 2.7 * Megabyte) }, At(second));
        }
    }

    [Fact]
    public void A_server_that_would_not_fill_the_memory_again_within_the_refill_time_is_trimmed()
    {
        // 40 MB to give back: at 2 MB a second the server would take it again in 20 s, within the refill time; at 1 MB a
        // second, in 40 s.
        Assert.Equal(MemoryTrimStep.Wait, AfterTheStorm().Next(AfterStorm with { AllocatedBytes = 20 * Megabyte }, At(110)));
        Assert.Equal(MemoryTrimStep.Trim, AfterTheStorm().Next(AfterStorm with { AllocatedBytes = 10 * Megabyte }, At(110)));

        static MemoryTrimPolicy AfterTheStorm()
        {
            var policy = KnowingTheQuietServer();
            policy.Next(AfterStorm, At(100));
            return policy;
        }
    }

    [Fact]
    public void A_busy_server_keeps_what_it_allocates_between_two_of_its_collections()
    {
        // Measured in a 120 s latency bench: after the connects, collections every 24-25 s, the server allocating 3 MB a
        // second. 10.5 s after a gen1 collection that left 157 MB committed around a heap of 63 MB, a trim took it to 60 MB,
        // paused every client for 44-60 ms, and the server took the memory back within 30 s.
        var policy = new MemoryTrimPolicy(Idle);
        policy.Next(new CollectionState(1, 11 * Megabyte, 8 * Megabyte, 0), At(0));
        var busy = new CollectionState(3, 100 * Megabyte, 70 * Megabyte, 0);
        for (var collection = 0; collection < 4; collection++)
        {
            busy = busy with { Collections = busy.Collections + 1, AllocatedBytes = busy.AllocatedBytes + 75 * Megabyte };
            policy.Next(busy, At(17 + 25 * collection));
        }
        var afterGen1 = busy with { Collections = busy.Collections + 1, CommittedBytes = 157 * Megabyte, HeapBytes = 63 * Megabyte, AllocatedBytes = busy.AllocatedBytes + 75 * Megabyte };
        policy.Next(afterGen1, At(117));

        for (var second = 119.5; second < 167; second += 2.5)
        {
            AssertLeftAlone(policy, afterGen1 with { AllocatedBytes = afterGen1.AllocatedBytes + (long)((second - 117) * 3 * Megabyte) }, At(second));
        }
    }

    [Fact]
    public void After_slow_snapshot_readers_the_memory_they_left_is_given_back_while_live_clients_go_on()
    {
        // Measured (dotnet-counters, slow-snapshots bench): the storm's last collection left 147 MB committed around a
        // heap of 85 MB, against 41 MB quiet; then no collection, 200 live clients allocating 1.1 MB a second.
        var policy = new MemoryTrimPolicy(Idle);
        policy.Next(new CollectionState(1, 41 * Megabyte, 22 * Megabyte, 0), At(0));
        policy.Next(new CollectionState(2, 41 * Megabyte, 22 * Megabyte, 0), At(11));
        Assert.Equal(MemoryTrimStep.Wait, policy.Next(new CollectionState(2, 41 * Megabyte, 22 * Megabyte, 0), At(22)));
        var afterStorm = new CollectionState(40, 147 * Megabyte, 85 * Megabyte, 1_000 * Megabyte);
        policy.Next(afterStorm, At(60));

        Assert.Equal(MemoryTrimStep.Trim, policy.Next(afterStorm with { AllocatedBytes = afterStorm.AllocatedBytes + 11 * Megabyte }, At(70)));
    }

    [Theory]
    [InlineData(10, 2.5)]
    [InlineData(2, 1)]
    public void The_collector_is_looked_at_four_times_per_idle_time_and_at_most_once_a_second(double idleSeconds, double checkSeconds) =>
        Assert.Equal(At(checkSeconds), new MemoryTrimPolicy(At(idleSeconds)).CheckEvery);
}
