namespace Zgres.AspNetCore.Capture;

/// <summary>
/// When the changes a snapshot of the database shows are in the log. A trigger logs a change in its writer's
/// transaction, so they are there at once; capture from the WAL logs it a moment after the commit, in a transaction of
/// its own, which the snapshot does not see.
/// </summary>
internal interface ILogCatchUp
{
    /// <summary>A snapshot that sees the log transactions holding every change <paramref name="snapshot"/> shows: once
    /// the stream position covers it, those changes have all been dispatched.</summary>
    Task<string> SnapshotOnceLoggedAsync(string snapshot, CancellationToken cancellationToken);
}
