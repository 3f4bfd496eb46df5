using System.Diagnostics;

namespace Zgres.Bench.Measure;

/// <summary>
/// Microseconds since the Unix epoch, advanced by the monotonic clock: writers stamp rows with it and clients
/// subtract it on receipt, both in this process, so latency never jumps with wall-clock adjustments.
/// </summary>
internal static class Clock
{
    private static readonly long OriginTimestamp = Stopwatch.GetTimestamp();
    private static readonly long OriginUnixMicroseconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000;
    private static readonly double MicrosecondsPerTick = 1_000_000.0 / Stopwatch.Frequency;

    public static long NowMicroseconds() =>
        OriginUnixMicroseconds + (long)((Stopwatch.GetTimestamp() - OriginTimestamp) * MicrosecondsPerTick);
}
