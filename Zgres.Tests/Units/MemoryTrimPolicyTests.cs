using Zgres.AspNetCore.Operations;

namespace Zgres.Tests.Units;

/// <summary>When the server gives memory back: once the collector has been idle after a burst, and only then.</summary>
public sealed class MemoryTrimPolicyTests
{
    private const long Megabyte = 1L << 20;
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(10);

    // Measured in the replay-storm bench: 12 MB committed at start, 38 when quiet, 78 left by the storm.
    private static readonly CollectionState Started = new(Collections: 1, CommittedBytes: 12 * Megabyte);
    private static readonly CollectionState Quiet = new(Collections: 12, CommittedBytes: 38 * Megabyte);
    private static readonly CollectionState AfterStorm = new(Collections: 40, CommittedBytes: 78 * Megabyte);

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

        Assert.False(policy.ShouldTrim(AfterStorm with { Collections = 41 }, At(108)));
        Assert.False(policy.ShouldTrim(AfterStorm with { Collections = 41 }, At(117)));
        Assert.True(policy.ShouldTrim(AfterStorm with { Collections = 41 }, At(118)));
    }

    [Fact]
    public void An_idle_server_at_its_usual_size_is_left_alone()
    {
        var policy = KnowingTheQuietServer();

        Assert.False(policy.ShouldTrim(Quiet, At(600)));
        var grownALittle = new CollectionState(13, Quiet.CommittedBytes + MemoryTrimPolicy.WorthTrimming - 1);
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
        var trimmed = new CollectionState(AfterStorm.Collections + 1, 20 * Megabyte);
        policy.Trimmed(trimmed.Collections);

        // What the trim left is below the usual size: the server's own next collections, once idle, set it.
        policy.ShouldTrim(trimmed, At(111));
        Assert.False(policy.ShouldTrim(trimmed, At(200)));
        var usualAgain = new CollectionState(trimmed.Collections + 1, 53 * Megabyte);
        policy.ShouldTrim(usualAgain, At(210));
        Assert.False(policy.ShouldTrim(usualAgain, At(300)));
        var nextStorm = new CollectionState(usualAgain.Collections + 30, usualAgain.CommittedBytes + MemoryTrimPolicy.WorthTrimming);
        policy.ShouldTrim(nextStorm, At(400));
        Assert.True(policy.ShouldTrim(nextStorm, At(410)));
    }

    [Theory]
    [InlineData(10, 2.5)]
    [InlineData(2, 1)]
    public void The_collector_is_looked_at_four_times_per_idle_time_and_at_most_once_a_second(double idleSeconds, double checkSeconds) =>
        Assert.Equal(At(checkSeconds), new MemoryTrimPolicy(At(idleSeconds)).CheckEvery);
}
