namespace Zgres.AspNetCore.Capture.Trigger;

/// <summary>With triggers, a change is in the log the moment its transaction commits.</summary>
internal sealed class LoggedAtCommit : ILogCatchUp
{
    public Task<string> SnapshotOnceLoggedAsync(string snapshot, CancellationToken cancellationToken) => Task.FromResult(snapshot);
}
