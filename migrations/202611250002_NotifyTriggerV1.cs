using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>First version of zgres.notify_trigger(): log the change, then NOTIFY the event (or only its id when too large).</summary>
[Migration(202611250002, "zgres.notify_trigger() v1")]
public sealed class NotifyTriggerV1 : Migration
{
    public override void Up() => Execute.EmbeddedScript("0002_notify_trigger_v1.sql");

    // Dropping the first version also drops the triggers that use it; a later version's Down
    // restores the body before it instead.
    public override void Down() => Execute.Sql("DROP FUNCTION zgres.notify_trigger() CASCADE; DROP FUNCTION zgres.published(json, text[]);");
}
