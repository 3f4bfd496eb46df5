namespace Zgres.AspNetCore.Operations;

/// <summary>The names of Zgres's health checks, as <c>/healthz/ready</c> reports them and as a host app's own health
/// endpoints can select them (each carries the tag <see cref="ReadyTag"/>).</summary>
public static class ZgresHealthChecks
{
    /// <summary>The tag of every check behind <c>/healthz/ready</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Unhealthy once the server has begun to stop.</summary>
    public const string Stopping = "stopping";

    /// <summary>The database answers.</summary>
    public const string Database = "database";

    /// <summary>The Zgres schema is at the version this server needs.</summary>
    public const string Migrations = "migrations";

    /// <summary>The listener is connected and not behind by more than <c>Zgres:Operations:ReadyMaxLag</c>.</summary>
    public const string Listener = "listener";

    /// <summary>Every watched table matches its configuration (<c>Degraded</c> otherwise).</summary>
    public const string Tables = "tables";

    /// <summary>With <c>Zgres:Capture=Wal</c>: some instance holds the slot and its unconfirmed WAL is young enough.</summary>
    public const string Capture = "capture";
}
