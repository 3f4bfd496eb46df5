namespace Zgres.AspNetCore.Hosting;

/// <summary>How changes reach the log.</summary>
public enum CaptureMode
{
    /// <summary>Zgres's triggers write each change into the log inside the writer's transaction.</summary>
    Trigger,

    /// <summary>One instance decodes the write-ahead log (a logical slot, pgoutput, publication <c>zgres</c>) and writes
    /// the log beside the writers; needs <c>wal_level = logical</c> and a role with REPLICATION.</summary>
    Wal,
}
