using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Second version of zgres.notify_trigger(): the event goes to the log only, and one empty NOTIFY per transaction
/// rings the listener's doorbell; the listener reads the log in commit order. Down restores v1's body and log shape;
/// the attached triggers stay as they are, since both versions take the same arguments.
/// </summary>
[Migration(202611280001, "Delivery engine v2: log-only trigger with a doorbell NOTIFY, writer snapshots, listener positions")]
public sealed class DeliveryEngineV2 : Migration
{
    public override void Up()
    {
        Execute.EmbeddedScript("0003_delivery_engine_v2.up.sql");
        Execute.EmbeddedScript("0003_notify_trigger_v2.sql");
    }

    public override void Down()
    {
        Execute.EmbeddedScript("0003_delivery_engine_v2.down.sql");
        Execute.EmbeddedScript("0002_notify_trigger_v1.sql");
    }
}
