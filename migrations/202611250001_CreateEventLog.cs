using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>The event log every watched change is written to, in the writer's own transaction.</summary>
[Migration(202611250001, "Create the zgres.events log, its state row and zgres.event_json()")]
public sealed class CreateEventLog : Migration
{
    public override void Up()
    {
        Execute.EmbeddedScript("0001_event_log.up.sql");
        Execute.EmbeddedScript("0001_event_json_v1.sql");
    }

    public override void Down() => Execute.EmbeddedScript("0001_event_log.down.sql");
}
