using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Operations;

/// <summary>
/// Gives memory back to the system after a burst. The garbage collector runs only when allocations fill its budget; a
/// burst (a storm of replays, a wave of snapshots) makes that budget large, and the usual traffic after it does not fill
/// it again for minutes, so what the burst took stays committed. When <see cref="MemoryTrimPolicy"/> says so, this
/// runs one aggressive collection, which compacts the heap and returns its free memory (as the JVM's G1 does with
/// <c>G1PeriodicGCInterval</c>). Off when <see cref="OperationsOptions.IdleMemoryTrim"/> is zero.
/// </summary>
internal sealed partial class IdleMemoryTrim(IOptions<OperationsOptions> options, TimeProvider time, ILogger<IdleMemoryTrim> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = options.Value.IdleMemoryTrim;
        if (idle <= TimeSpan.Zero) return;
        var policy = new MemoryTrimPolicy(idle);
        var started = time.GetTimestamp();
        using var timer = new PeriodicTimer(policy.CheckEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var before = Collector();
                if (!policy.ShouldTrim(before, time.GetElapsedTime(started))) continue;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                var after = Collector();
                policy.Trimmed(after.Collections);
                LogTrimmed(before.CommittedBytes >> 20, after.CommittedBytes >> 20, idle.TotalSeconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static CollectionState Collector()
    {
        var last = GC.GetGCMemoryInfo();
        return new(GC.CollectionCount(0), last.TotalCommittedBytes, last.HeapSizeBytes, GC.GetTotalAllocatedBytes());
    }

    [LoggerMessage(EventId = 710, EventName = "MemoryTrimmed", Level = LogLevel.Information,
        Message = "Gave memory back after {IdleSeconds} s without a collection: the heap's committed memory went from {BeforeMegabytes} MB to {AfterMegabytes} MB")]
    private partial void LogTrimmed(long beforeMegabytes, long afterMegabytes, double idleSeconds);
}
