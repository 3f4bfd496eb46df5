using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Trigger v5: each event also travels in its own NOTIFY, so a listener delivers it without reading the log (which
/// stays the source of truth); listeners of earlier versions are still rung with an empty doorbell. Down restores
/// trigger v4 and the doorbell that rings for earlier listeners only.
/// </summary>
[Migration(202612050101, "Trigger v5: events carried in their notifications")]
public sealed class EventsInNotifications : Migration
{
    public override void Up()
    {
        Execute.EmbeddedScript("0008_events_in_notifications.up.sql");
        Execute.EmbeddedScript("0008_notify_trigger_v5.sql");
    }

    public override void Down()
    {
        Execute.EmbeddedScript("0006_notify_trigger_v4.sql");
        Execute.EmbeddedScript("0008_events_in_notifications.down.sql");
    }
}
