using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Capture from the write-ahead log (<c>Zgres:Capture: Wal</c>): the leader's position in its slot, kept with the
/// events it wrote. Trigger mode does not use it; the event log and the triggers are unchanged.
/// </summary>
[Migration(202612030001, "Capture from the WAL: the leader's position (zgres.wal_progress)")]
public sealed class WalCapture : Migration
{
    public override void Up() => Execute.EmbeddedScript("0005_wal_capture.up.sql");

    public override void Down() => Execute.EmbeddedScript("0005_wal_capture.down.sql");
}
