using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Capture from the WAL: how far the log holds every committed change (<c>zgres.wal_progress.logged_through</c>), so
/// that a snapshot's subscriber can wait until the changes its snapshot already shows are in the log, and not take
/// them again as news when the leader logs them a moment after their commit.
/// </summary>
[Migration(202612040102, "Capture from the WAL: how far the log holds every committed change (wal_progress.logged_through)")]
public sealed class WalLoggedThrough : Migration
{
    public override void Up() => Execute.Sql("""
        -- The WAL position before which every committed change of a watched table is in the log: the end of the last
        -- logged commit, or the leader's last mark. Moves with each batch, in its transaction.
        ALTER TABLE zgres.wal_progress ADD COLUMN logged_through pg_lsn NOT NULL DEFAULT '0/0';
        """);

    public override void Down() => Execute.Sql("ALTER TABLE zgres.wal_progress DROP COLUMN logged_through;");
}
