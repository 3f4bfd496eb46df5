using Zgres.AspNetCore.Capture;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Listening;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// Waits until the stream has dispatched every change a snapshot of the database shows: once the log holds them
/// (<see cref="ILogCatchUp"/>), the listener is rung rather than left to wait for a writer's doorbell, and the wait ends at
/// the first position that covers them.
/// </summary>
internal sealed class StreamCatchUp(StreamPosition stream, ILogCatchUp logCatchUp)
{
    /// <summary>Runs <paramref name="join"/> between two reads of the listener, at the first position that has
    /// dispatched every change <paramref name="snapshot"/> shows, and returns that position.</summary>
    public async Task<LogPosition> JoinWhenCoveredAsync(string snapshot, Action join, CancellationToken cancellationToken)
    {
        var logged = await logCatchUp.SnapshotOnceLoggedAsync(snapshot, cancellationToken);
        if (stream.Current?.Covers(logged) != true)
        {
            await stream.AskForReadAsync(cancellationToken);
        }
        return await stream.JoinWhenAsync(position => position.Covers(logged), join, cancellationToken);
    }
}
