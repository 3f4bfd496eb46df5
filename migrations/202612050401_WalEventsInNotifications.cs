using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Capture from the WAL: the leader announces what it logged as trigger v6 announces a writer's transaction, its events
/// in notifications of their own while a listener takes them (<c>zgres.announce_logged()</c>), so that listeners of
/// every instance deliver them without reading the log. Down drops its functions; a leader of an earlier version rings
/// with <c>zgres.ring_doorbell()</c>, which stays.
/// </summary>
[Migration(202612050401, "Capture from the WAL: the leader's logged events carried in their notifications")]
public sealed class WalEventsInNotifications : Migration
{
    public override void Up() => Execute.EmbeddedScript("0010_wal_events_in_notifications.up.sql");

    public override void Down() => Execute.Sql("DROP FUNCTION zgres.announce_logged(text); DROP FUNCTION zgres.listener_holds(bigint);");
}
