using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Third version of zgres.notify_trigger(): an UPDATE records the row's input before the change, so a row that moves
/// to another input leaves the old input's subscribers and reaches the new one's without the other's values; and
/// every event names its writer's transaction (<c>txid</c>). Down restores event_json v1, trigger v2 and the log's
/// shape; the attached triggers stay, since every version takes the same arguments.
/// </summary>
[Migration(202612010001, "Trigger v3: input moves (old_input_id) and the writer's transaction id on every event")]
public sealed class InputMoves : Migration
{
    public override void Up()
    {
        Execute.EmbeddedScript("0004_input_moves.up.sql");
        Execute.EmbeddedScript("0004_event_json_v2.sql");
        Execute.EmbeddedScript("0004_notify_trigger_v3.sql");
    }

    public override void Down()
    {
        Execute.EmbeddedScript("0001_event_json_v1.sql");
        Execute.EmbeddedScript("0003_notify_trigger_v2.sql");
        Execute.EmbeddedScript("0004_input_moves.down.sql");
    }
}
