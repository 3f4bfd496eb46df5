using System.Globalization;
using System.Text.Json;
using CsCheck;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Snapshots;
using Zgres.AspNetCore.Tables;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>
/// A filter means one thing on both paths: which rows a live subscriber is sent (the dispatch index and the filter,
/// deciding on the event the capture logged) and which rows its snapshot selects (the snapshot's WHERE in PostgreSQL);
/// the suite runs once per capture mode, so the live path decides on the trigger's events and on WAL capture's.
/// </summary>
public abstract class FilterAgreementTests(TestDatabase database)
{
    /// <summary>Each filterable type with values PostgreSQL can store, its edges first: NaN, ±Infinity, -0, many
    /// digits, padded char(n), real's precision, ±infinity and BC times, ordering of enum labels, a domain.</summary>
    private static readonly (string Name, string Type, Gen<string> Values)[] Columns =
    [
        ("i2", "int2", Gen.OneOf(Gen.OneOf("-32768", "32767", "0", "1"), Gen.Short.Select(Text))),
        ("i8", "int8", Gen.OneOf(Gen.OneOf("-9223372036854775808", "9223372036854775807", "0", "7"), Gen.Long[-20, 20].Select(Text), Gen.Long.Select(Text))),
        ("dom", "positive_{0}", Gen.OneOf(Gen.OneOf("1", "2147483647"), Gen.Int[1, 30].Select(Text))),
        ("n", "numeric", Gen.OneOf(
            Gen.OneOf("NaN", "Infinity", "-Infinity", "0", "-0", "0.000", "1.1", "1.10", "-1.1", "1e-30", "12345678901234567890123456789.000000001"),
            Gen.Int[-30, 30].Select(v => Text(v / 4m)),
            Gen.Select(Gen.Long[1, long.MaxValue], Gen.Int[0, 30], Gen.Int[0, 40], ManyDigits))),
        ("f8", "float8", Gen.OneOf(
            Gen.OneOf("NaN", "Infinity", "-Infinity", "-0", "0", "0.1", "0.30000000000000004", "1e308", "5e-324", "9007199254740993"),
            Gen.Int[-8, 8].Select(v => Text(v / 4.0)),
            Gen.Double.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))),
        ("f4", "real", Gen.OneOf(
            Gen.OneOf("NaN", "Infinity", "-Infinity", "-0", "0.1", "0.10000001", "16777217", "3.4028235e38", "1e-45"),
            Gen.Int[-8, 8].Select(v => Text(v / 4.0)),
            Gen.Float.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))),
        ("b", "boolean", Gen.OneOf("true", "false", "t", "no")),
        ("t", "text", Gen.OneOf(Gen.OneOf("", "a", "A", "a ", " a", "é", "e\u0301", "Ω", "\"q\"", "\\"), Gen.Char["ab "].Array[0, 3].Select(chars => new string(chars)))),
        ("c", "char(3)", Gen.OneOf(Gen.OneOf("", "a", "a ", "a  ", " a", "ab", "abc", "A"), Gen.Char["ab "].Array[0, 3].Select(chars => new string(chars)))),
        ("u", "uuid", Gen.OneOf("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff")),
        ("ts", "timestamptz", Gen.OneOf(
            Gen.OneOf("infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "4713-01-01 00:00:00+00 BC", "294276-12-31 23:59:59.999999+00", "1999-12-31 23:59:59.999999+00"),
            Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2], Gen.Int[0, 2], Gen.Int[-2, 2], (day, hour, micro, zone) =>
                $"2026-11-{27 + day} {10 + hour}:00:00.{micro:000000}{(zone < 0 ? "-" : "+")}{Math.Abs(zone):00}"))),
        ("lt", "timestamp", Gen.OneOf(
            Gen.OneOf("infinity", "-infinity", "0044-03-15 12:00:00 BC", "1999-12-31 23:59:59.999999"),
            Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2], Gen.Int[0, 2], (day, hour, micro) => $"2026-11-{27 + day} {10 + hour}:00:00.{micro:000000}"))),
        ("d", "date", Gen.OneOf(Gen.OneOf("infinity", "-infinity", "0044-03-15 BC", "2000-02-29"), Gen.Int[0, 4].Select(day => $"2026-11-{26 + day}"))),
        ("e", "stage_{0}", Gen.OneOf("new", "open", "done", "void")),
    ];

    private static readonly string[] Operators = ["eq", "neq", "lt", "lte", "gt", "gte", "in", "is"];

    /// <summary>One condition as drawn: a column, an operator, and which operands from the values written (resolved
    /// once the events are read, so a draw names values whatever their JSON looks like).</summary>
    private sealed record Draw(int Column, int Operator, int[] Operands);

    private sealed record Sample(string?[][] Rows, string?[][] OtherRows, Draw[][] Filters)
    {
        public override string ToString() =>
            $"rows: {JsonSerializer.Serialize(Rows)}\nother rows: {JsonSerializer.Serialize(OtherRows)}\nfilters: {JsonSerializer.Serialize(Filters)}";
    }

    private static readonly Gen<string?[]> Row = Columns.Aggregate(Gen.Const(Array.Empty<string?>()),
        (row, column) => Gen.Select(row, column.Values.Null(0.15), (values, value) => (string?[])[.. values, value]));

    private static readonly Gen<Draw> Condition =
        Gen.Select(Gen.Int[0, Columns.Length - 1], Gen.Int[0, Operators.Length - 1], Gen.Int[0, 1000].Array[1, 4], (column, op, operands) => new Draw(column, op, operands));

    private static readonly Gen<Sample> Samples = Gen.Select(Row.Array[1, 24], Row.Array[0, 8], Condition.Array[1, 3].Array[10, 30],
        (rows, others, filters) => new Sample(rows, others, filters));

    [Fact]
    public async Task A_random_filter_selects_in_a_snapshot_exactly_the_rows_the_live_path_sends_for_every_type_and_value_postgres_can_store()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await database.ExecuteAsync($"""
            CREATE TYPE stage_{suffix} AS ENUM ('open', 'new', 'done', 'void');
            CREATE DOMAIN positive_{suffix} AS int4 CHECK (VALUE > 0);
            """);
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, batch int NOT NULL, "
            + string.Join(", ", Columns.Select(column => $"{column.Name} {TypeOf(column, suffix)}")));
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        var name = new TableName("public", table);
        var (watched, types) = await ServedAsync(server, name);
        await using var connection = await database.OpenAsync();
        var batches = 0;
        var (decided, refused) = (0, 0);

        await Samples.SampleAsync(async sample =>
        {
            var batch = Interlocked.Increment(ref batches);
            var rows = await WriteAsync(connection, table, batch, sample.Rows);
            var others = await WriteAsync(connection, table, -batch, sample.OtherRows);
            var values = Columns.Select(column => OperandsOf(rows.Concat(others).Select(row => row.Data), column.Name)).ToArray();

            var filters = new List<(string Json, RowFilter Filter, FilteredGroup Group)>();
            foreach (var (draws, number) in sample.Filters.Select((draws, number) => (draws, number)))
            {
                var json = FilterJson(draws, values);
                try
                {
                    var filter = RowFilter.Parse(JsonDocument.Parse(json).RootElement, types);
                    filters.Add((json, filter, new FilteredGroup($"g{number}", name, null, filter)));
                    Interlocked.Increment(ref decided);
                }
                catch (HubException)
                {
                    Interlocked.Increment(ref refused);
                }
            }

            var index = new FilterIndex();
            foreach (var (_, _, group) in filters) index.Add(group);
            var sent = filters.ToDictionary(f => f.Group.Name, _ => new SortedSet<long>());
            var matched = new List<(FilteredGroup Group, Delivery Delivery)>();
            foreach (var row in rows)
            {
                matched.Clear();
                index.Match(name, new EventRow("INSERT", default, row.Data, null, null), matched);
                foreach (var (group, _) in matched) sent[group.Name].Add(row.Id);
            }

            foreach (var (json, filter, group) in filters)
            {
                var selected = await SelectAsync(connection, watched, batch, filter, json);
                if (!selected.SetEquals(sent[group.Name]))
                {
                    var differing = selected.Except(sent[group.Name]).Union(sent[group.Name].Except(selected)).Select(id => rows.Single(row => row.Id == id));
                    Assert.Fail($"filter {json}: the snapshot selects [{string.Join(", ", selected)}], the live path sends [{string.Join(", ", sent[group.Name])}]; "
                        + $"rows that differ: {string.Join("; ", differing.Select(row => row.Data.GetRawText()))}");
                }
            }
        }, iter: 300, threads: 1, print: sample => sample.ToString());

        // Refusals are part of the contract (ordering text, operands of the wrong type), but most draws must be decided.
        Assert.True(decided > 2 * refused, $"{decided} filters decided, {refused} refused: the draws test too little");
    }

    [Fact]
    public async Task A_snapshot_filter_compares_a_column_with_a_value_of_its_own_type_so_its_index_is_used()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, amount numeric, due timestamptz, label text");
        await database.ExecuteAsync($"""
            INSERT INTO {table} (input_id, amount, due, label)
            SELECT g % 100, g, '2026-01-01'::timestamptz + g * interval '1 minute', 'l' || g FROM generate_series(1, 20000) g;
            CREATE INDEX ON {table} (amount); CREATE INDEX ON {table} (due); CREATE INDEX ON {table} (label);
            ANALYZE {table};
            """);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        var (watched, types) = await ServedAsync(server, new TableName("public", table));
        await using var connection = await database.OpenAsync();

        foreach (var json in new[]
        {
            """[{"column":"id","op":"eq","value":42}]""",
            """[{"column":"id","op":"in","value":[1,2,3]}]""",
            """[{"column":"amount","op":"gte","value":19990.5}]""",
            """[{"column":"due","op":"lt","value":"2026-01-01T00:10:00Z"}]""",
            """[{"column":"label","op":"eq","value":"l7"}]""",
        })
        {
            var (where, parameters) = TableSnapshot.Where(watched, null, null, RowFilter.Parse(JsonDocument.Parse(json).RootElement, types));
            await using var explain = new NpgsqlCommand($"EXPLAIN SELECT * FROM public.{table} t WHERE $1::int IS NULL AND {where}", connection);
            explain.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = null });
            foreach (var parameter in parameters()) explain.Parameters.Add(parameter);
            var plan = new List<string>();
            await using (var reader = await explain.ExecuteReaderAsync()) while (await reader.ReadAsync()) plan.Add(reader.GetString(0));

            Assert.True(plan.Any(line => line.Contains("Index", StringComparison.Ordinal)), $"{json} is not decided by an index:\n{string.Join("\n", plan)}");
        }
    }

    /// <summary>The table as the server serves it, and its column types as filters read them.</summary>
    private static async Task<(WatchedTable Table, IReadOnlyDictionary<string, ColumnType> Types)> ServedAsync(ZgresTestServer server, TableName name)
    {
        Assert.True(server.Services.GetRequiredService<TableCatalog>().TryGet(name, out var watched));
        return (watched, (await server.Services.GetRequiredService<TableColumnsCache>().GetAsync(watched, CancellationToken.None)).Types);
    }

    private async Task<List<(long Id, JsonElement Data)>> WriteAsync(NpgsqlConnection connection, string table, int batch, string?[][] rows)
    {
        // Each row in a statement of its own; its event is read back as the listener reads it, once the capture logged it.
        var ids = new List<long>();
        foreach (var row in rows)
        {
            // json_populate_record reads each text with its column type's input function, as a literal would be.
            var columns = string.Join(", ", Columns.Select(column => column.Name));
            await using var insert = new NpgsqlCommand($"""
                INSERT INTO public.{table} (batch, {columns}) SELECT $1, {columns} FROM json_populate_record(NULL::public.{table}, $2::json) RETURNING id
                """, connection);
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batch });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(Columns.Select((column, i) => (column.Name, row[i])).ToDictionary()) });
            ids.Add((long)(await insert.ExecuteScalarAsync())!);
        }
        await database.LoggedEventIdsAsync(table, ids.Count, $"(data ->> 'id')::bigint = ANY ('{{{string.Join(",", ids)}}}')");
        await using var read = new NpgsqlCommand("SELECT zgres.event_json(e) FROM zgres.events e WHERE e.table_name = $1 AND (e.data ->> 'id')::bigint = ANY ($2) ORDER BY e.id", connection);
        read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
        read.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ids] });
        var written = new List<(long, JsonElement)>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var data = JsonDocument.Parse(reader.GetString(0)).RootElement.GetProperty("data");
            written.Add((data.GetProperty("id").GetInt64(), data));
        }
        Assert.Equal(ids, written.Select(row => row.Item1));
        return written;
    }

    private static async Task<SortedSet<long>> SelectAsync(NpgsqlConnection connection, WatchedTable table, int batch, RowFilter filter, string json)
    {
        var (where, parameters) = TableSnapshot.Where(table, null, null, filter);
        await using var select = new NpgsqlCommand($"SELECT t.id FROM {table.Name.Quoted} t WHERE t.batch = $1 AND {where}", connection);
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batch });
        foreach (var parameter in parameters()) select.Parameters.Add(parameter);
        var ids = new SortedSet<long>();
        try
        {
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync()) ids.Add(reader.GetInt64(0));
        }
        catch (PostgresException e)
        {
            Assert.Fail($"filter {json} was accepted, but its snapshot fails in PostgreSQL: {e.MessageText}");
        }
        return ids;
    }

    /// <summary>The operands a user could send for a column: each value written as its event shows it, a number also
    /// as a string, a text also without its spaces, a time also with "Z" for "+00:00"; true and false for a boolean.</summary>
    private static string[] OperandsOf(IEnumerable<JsonElement> rows, string column)
    {
        var operands = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var value = row.GetProperty(column);
            if (value.ValueKind == JsonValueKind.Null) continue;
            operands.Add(value.GetRawText());
            if (value.ValueKind == JsonValueKind.Number) operands.Add(JsonSerializer.Serialize(value.GetRawText()));
            if (value.ValueKind != JsonValueKind.String) continue;
            var text = value.GetString()!;
            operands.Add(JsonSerializer.Serialize(text.Trim()));
            operands.Add(JsonSerializer.Serialize(text.Replace("+00:00", "Z", StringComparison.Ordinal)));
        }
        return [.. operands];
    }

    private static string FilterJson(Draw[] draws, string[][] operands) => "[" + string.Join(",", draws.Select(draw =>
    {
        var pool = operands[draw.Column];
        string Pick(int choice) => pool.Length == 0 ? "null" : pool[choice % pool.Length];
        var op = Operators[draw.Operator];
        var value = op switch
        {
            "in" => "[" + string.Join(",", draw.Operands.Select(Pick)) + "]",
            "is" when Columns[draw.Column].Type == "boolean" => new[] { "null", "true", "false" }[draw.Operands[0] % 3],
            "is" => "null",
            _ => Pick(draw.Operands[0]),
        };
        return $$"""{"column":"{{Columns[draw.Column].Name}}","op":"{{op}}","value":{{value}}}""";
    })) + "]";

    private static string TypeOf((string Name, string Type, Gen<string> Values) column, string suffix) =>
        string.Format(CultureInfo.InvariantCulture, column.Type, suffix);

    private static string Text<T>(T value) where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);

    /// <summary>A numeric with up to 49 digits: a long's digits, then more, with the point <paramref name="point"/> digits from the end.</summary>
    private static string ManyDigits(long head, int more, int point)
    {
        var digits = Text(head) + new string('3', more);
        return point == 0 || point >= digits.Length ? digits : digits.Insert(digits.Length - point, ".");
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class FilterAgreementByTriggerTests(PostgresFixture database) : FilterAgreementTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class FilterAgreementFromWalTests(PostgresFixture database) : FilterAgreementTests(database.CapturingFromWal());
