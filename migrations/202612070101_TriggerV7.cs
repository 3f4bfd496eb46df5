using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Trigger v7: each event made once, as a row of the log's type that is inserted and, when carried, turned into its
/// notification; v6 read a carried event back by its id to build it. Down restores v6.
/// </summary>
[Migration(202612070101, "Trigger v7: a carried event built from the row it inserted")]
public sealed class TriggerV7 : Migration
{
    public override void Up() => Execute.EmbeddedScript("0011_notify_trigger_v7.sql");

    public override void Down() => Execute.EmbeddedScript("0009_notify_trigger_v6.sql");
}
