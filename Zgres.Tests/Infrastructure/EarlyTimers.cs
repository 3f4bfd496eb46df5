namespace Zgres.Tests.Infrastructure;

/// <summary>
/// The system's clock, with timers that fire <paramref name="early"/> before they are due, as the runtime's own timers
/// may (they run on a coarser clock than <see cref="System.Diagnostics.Stopwatch"/>): code that waits for a time to
/// pass must check it on the clock it measures with rather than trust the timer.
/// </summary>
public sealed class EarlyTimers(TimeSpan early) : TimeProvider
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, dueTime > early ? dueTime - early : dueTime, period);
}
