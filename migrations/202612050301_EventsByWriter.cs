using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// An index of the events the WAL leader logged, by their writer's transaction: a snapshot's catch-up looks up the
/// writers it saw as open, whose events the leader may have logged in a transaction the snapshot did see. Partial, so
/// that triggers (which leave <c>txid</c> empty) pay nothing for it. Building it holds off writers for one scan of the log.
/// </summary>
[Migration(202612050301, "An index of WAL-logged events by their writer's transaction")]
public sealed class EventsByWriter : Migration
{
    public override void Up() => Execute.Sql("CREATE INDEX events_txid ON zgres.events (txid) WHERE txid IS NOT NULL;");

    public override void Down() => Execute.Sql("DROP INDEX zgres.events_txid;");
}
