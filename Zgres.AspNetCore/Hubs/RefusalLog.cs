using Zgres.AspNetCore.Security;

namespace Zgres.AspNetCore.Hubs;

/// <summary>Counts refused hub requests and logs a line about them at most once per <see cref="Interval"/>, with the
/// latest reason escaped: a client sending bad requests in a loop writes one line a minute, not one per request.</summary>
internal sealed partial class RefusalLog(TimeProvider time, ILogger<RefusalLog> logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private long _count;
    private DateTimeOffset _nextLine = DateTimeOffset.MinValue;

    public void Record(string method, string reason)
    {
        long count;
        lock (_gate)
        {
            _count++;
            var now = time.GetUtcNow();
            if (now < _nextLine) return;
            _nextLine = now + Interval;
            count = _count;
            _count = 0;
        }
        LogRefused(count, method, LogText.Escape(reason));
    }

    [LoggerMessage(EventId = 411, EventName = "HubRequestsRefused", Level = LogLevel.Information,
        Message = "Refused {Count} hub request(s) since the last such line; the latest, {Method}: {Reason}")]
    private partial void LogRefused(long count, string method, string reason);
}
