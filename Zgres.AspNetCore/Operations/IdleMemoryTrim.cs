using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Operations;

/// <summary>
/// Gives memory back to the system after a burst. The garbage collector runs only when allocations fill its budget; a
/// burst (a storm of replays, a wave of snapshots) makes that budget large, and the usual traffic after it does not fill
/// it again for minutes, so what the burst took stays committed. When <see cref="MemoryTrimPolicy"/> says so, this
/// runs one aggressive collection, which compacts the heap and returns its free memory (as the JVM's G1 does with
/// <c>G1PeriodicGCInterval</c>); when it asks, first a background one, to find what the heap holds alive. Off when
/// <see cref="OperationsOptions.IdleMemoryTrim"/> is zero.
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
                var now = time.GetElapsedTime(started);
                var before = Collector(GC.GetGCMemoryInfo());
                var step = policy.Next(before, now);
                if (step == MemoryTrimStep.MeasureHeap)
                {
                    var measured = await MeasureHeapAsync(policy.CheckEvery, stoppingToken);
                    step = measured is { } heap && policy.Measured(heap) ? MemoryTrimStep.Trim : MemoryTrimStep.Wait;
                }
                if (step != MemoryTrimStep.Trim) continue;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                var after = Collector(GC.GetGCMemoryInfo());
                policy.Trimmed(after.Collections);
                LogTrimmed(before.CommittedBytes >> 20, after.CommittedBytes >> 20, idle.TotalSeconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A background collection, which finds what is alive while the server goes on; its state, or null if it has
    /// not ended within <paramref name="timeout"/>. With concurrent collection off, the collection blocks instead.</summary>
    private async Task<CollectionState?> MeasureHeapAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var before = LastFullCollection();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: false, compacting: false);
        var waited = TimeSpan.Zero;
        for (var poll = TimeSpan.FromMilliseconds(10); LastFullCollection().Index == before.Index; waited += poll)
        {
            if (waited >= timeout) return null;
            await Task.Delay(poll, time, cancellationToken);
        }
        var measured = Collector(LastFullCollection());
        LogMeasured(measured.HeapBytes >> 20, measured.CommittedBytes >> 20);
        return measured;
    }

    private static GCMemoryInfo LastFullCollection()
    {
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return background.Index > blocking.Index ? background : blocking;
    }

    private static CollectionState Collector(GCMemoryInfo last) => new(
        GC.CollectionCount(0), last.TotalCommittedBytes, last.HeapSizeBytes - last.FragmentedBytes, GC.GetTotalAllocatedBytes());

    [LoggerMessage(EventId = 711, EventName = "HeapMeasured", Level = LogLevel.Debug,
        Message = "Looked for memory to give back: {LiveMegabytes} MB of the heap is in use, {CommittedMegabytes} MB committed")]
    private partial void LogMeasured(long liveMegabytes, long committedMegabytes);

    [LoggerMessage(EventId = 710, EventName = "MemoryTrimmed", Level = LogLevel.Information,
        Message = "Gave memory back after {IdleSeconds} s without a collection: the heap's committed memory went from {BeforeMegabytes} MB to {AfterMegabytes} MB")]
    private partial void LogTrimmed(long beforeMegabytes, long afterMegabytes, double idleSeconds);
}
