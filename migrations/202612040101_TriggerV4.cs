using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Fourth version of zgres.notify_trigger(): the same events, for fewer instructions per row. It rings the doorbell
/// itself instead of calling zgres.ring_doorbell() (a nested SECURITY DEFINER call that sets its own search_path), and
/// runs only its operation's statements. Down restores trigger v3; the attached triggers stay, as the arguments are
/// the same.
/// </summary>
[Migration(202612040101, "Trigger v4: the doorbell rung inline, each operation's statements only")]
public sealed class TriggerV4 : Migration
{
    public override void Up() => Execute.EmbeddedScript("0006_notify_trigger_v4.sql");

    public override void Down() => Execute.EmbeddedScript("0004_notify_trigger_v3.sql");
}
