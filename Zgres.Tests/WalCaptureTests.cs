using Npgsql;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Capture from the WAL: what only that mode does (the suites that run in both modes prove the rest).</summary>
[Collection(DatabaseGroup.Name)]
public sealed class WalCaptureTests(PostgresFixture database)
{
    private const string OddColumns = """
        id int PRIMARY KEY, input_id text, n numeric, f8 float8, f4 real, b boolean, t text, j json, jb jsonb,
        ia int[], ta text[], m int[][], c zgres_test_pair, e zgres_test_mood, d zgres_test_positive, r int4range, tr tstzrange,
        ts timestamp, tz timestamptz, dt date, iv interval, by bytea, u uuid, ip inet, ch char(5), pt point, bits varbit, big text
        """;

    [Fact]
    public async Task Every_type_the_trigger_handles_is_logged_byte_for_byte_the_same_from_the_wal()
    {
        await database.ExecuteAsync("""
            DO $$ BEGIN
                CREATE TYPE zgres_test_pair AS (label text, amount numeric);
                CREATE TYPE zgres_test_mood AS ENUM ('sad', 'ok', 'happy');
                CREATE DOMAIN zgres_test_positive AS int CHECK (VALUE > 0);
            EXCEPTION WHEN duplicate_object THEN NULL; END $$
            """);
        var byTrigger = await database.CreateTableAsync(OddColumns);
        var fromWal = await database.CreateTableAsync(OddColumns);
        var wal = database.CapturingFromWal();
        await using var triggerServer = await ZgresTestServer.StartAsync(database, [byTrigger]);
        await using var walServer = await ZgresTestServer.StartAsync(wal, [fromWal]);

        foreach (var table in new[] { byTrigger, fromWal })
        {
            await database.ExecuteAsync($$$"""
                SET TimeZone = 'Europe/Paris';
                INSERT INTO {{{table}}} VALUES
                  (1, 'a', 'NaN', 'Infinity', '-0', true, e'quote " backslash \\ newline \n tab \t unicode é 😀 nul-free', '{"b" : 1,  "a":[1, 2.50], "b": 2}', '{"z": 1, "a": [true, null]}',
                   '{1,NULL,3}', '{"a \"q\"","b,c",NULL,"NULL"}', '{{1,2},{3,4}}', ROW('x "y"', 1.50), 'happy', 7, '[1,10)', '[2026-01-01 10:00+02,infinity)',
                   '2026-12-03 10:11:12.123456', '2026-12-03 10:11:12.5+05:30', 'infinity', '1 year 2 mons 3 days 04:05:06.7', '\xdeadbeef00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
                   '192.168.0.1/24', 'ab', '(1.5,-2)', B'10110', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 40000) i)),
                  (2, NULL, 12345678901234567890.123456789012345678, 1e-300, 3.4e38, false, '', 'null', '"text"',
                   '{}', '{}', NULL, ROW(NULL, NULL), 'sad', NULL, 'empty', NULL, '0001-01-01 00:00:00 BC', '-infinity', '2000-02-29', '-1 days', '', NULL,
                   '::1', NULL, NULL, NULL, NULL),
                  (3, 'c', -0.0, -1.5, 'NaN', NULL, 'Ω', '[]', '[]', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                -- An UPDATE that leaves the TOASTed column alone (pgoutput does not send it) and one that moves the row.
                UPDATE {{{table}}} SET n = n + 1, t = 'changed' WHERE id = 1;
                UPDATE {{{table}}} SET input_id = 'b', big = repeat('y', 3000) WHERE id = 2;
                DELETE FROM {{{table}}} WHERE id = 3;
                TRUNCATE {{{table}}};
                """);
        }

        var expected = await EventsAsync(byTrigger);
        var actual = await WaitForEventsAsync(fromWal, expected.Count);
        Assert.Equal(7, expected.Count);
        Assert.Equal(expected, actual);
    }

    private async Task<List<string>> WaitForEventsAsync(string table, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var events = await EventsAsync(table);
            if (events.Count >= count || DateTime.UtcNow > deadline) return events;
            await Task.Delay(100);
        }
    }

    /// <summary>What the log holds of the table's events, besides their ids, times and the table's own name.</summary>
    private async Task<List<string>> EventsAsync(string table)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT concat_ws(' | ', operation, input_id, old_input_id, data::text, old::text, txid IS NOT NULL OR xid IS NOT NULL)
            FROM zgres.events WHERE table_name = $1 ORDER BY id
            """, connection) { Parameters = { new() { Value = table } } };
        var events = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) events.Add(reader.GetString(0));
        return events;
    }
}
