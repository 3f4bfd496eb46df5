using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Trigger v6: v5 without a RETURNING clause on each event's INSERT, which cost writers about a fifth more per event
/// whether or not a listener took carried events; a carried event is read back by its id instead. Down restores v5.
/// </summary>
[Migration(202612050201, "Trigger v6: no RETURNING on the event's insert")]
public sealed class TriggerV6 : Migration
{
    public override void Up() => Execute.EmbeddedScript("0009_notify_trigger_v6.sql");

    public override void Down() => Execute.EmbeddedScript("0008_notify_trigger_v5.sql");
}
