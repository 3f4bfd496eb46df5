using System.Text;
using System.Text.Json;
using Npgsql;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// A watched table as the decoder met it in the WAL: the columns pgoutput sends (in its order) and how they fill the
/// table's row type now, so that PostgreSQL can read a decoded row back as the row the trigger would have seen and
/// write the same JSON (<see cref="RowLiteral"/>, cast to the table's type and passed to <c>to_json</c>). A column the
/// WAL does not carry (added since, or generated) is NULL; one the table no longer has is left out.
/// </summary>
internal sealed class WalRelation
{
    private readonly int[] _sourceOfAttribute;

    private WalRelation(int id, WatchedTable table, string[] sourceColumns, int[] sourceOfAttribute)
    {
        Id = id;
        Table = table;
        SourceColumns = sourceColumns;
        _sourceOfAttribute = sourceOfAttribute;
        PublishedColumnsLiteral = table.PublishesAllColumns ? null : ArrayLiteral(table.PublishedColumns);
    }

    /// <summary>Tells this mapping apart from others in one batch of the log writer (a table met again after a schema
    /// change gets a new one).</summary>
    public int Id { get; }

    public WatchedTable Table { get; }

    /// <summary>The columns pgoutput sends, in its order.</summary>
    public IReadOnlyList<string> SourceColumns { get; }

    /// <summary>The columns each event publishes as a <c>text[]</c> literal, <c>{"a","b"}</c>, read back in SQL as
    /// <c>published::text[]</c>; null when the table publishes every column. Made once: the log writer sends it with
    /// every row.</summary>
    public string? PublishedColumnsLiteral { get; }

    /// <summary>Reads the table's live columns and maps the relation's columns onto them by name; a table that is gone
    /// maps no column (<see cref="HasRowType"/> is false and its changes are written untyped, see <see cref="UntypedJson"/>).</summary>
    public static async Task<WalRelation> MapAsync(NpgsqlDataSource dataSource, int id, WatchedTable table,
        IReadOnlyList<string> sourceColumns, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT a.attname::text FROM pg_attribute a
            WHERE a.attrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """);
        command.Parameters.Add(new() { Value = table.Name.Schema });
        command.Parameters.Add(new() { Value = table.Name.Name });
        var attributes = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken)) attributes.Add(reader.GetString(0));
        }
        var source = sourceColumns.ToArray();
        return new WalRelation(id, table, source, [.. attributes.Select(name => Array.IndexOf(source, name))]);
    }

    private static string ArrayLiteral(IReadOnlyList<string> items) =>
        "{" + string.Join(',', items.Select(item => "\"" + item.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"")) + "}";

    /// <summary>Whether the table still exists as a row type to read rows into.</summary>
    public bool HasRowType => _sourceOfAttribute.Length > 0;

    /// <summary>
    /// The row as a composite literal of the table's type, <c>("1","a ""b""",)</c>: every value quoted (backslashes and
    /// quotes escaped), NULL left empty, in the table's column order. PostgreSQL reads each field with its type's input
    /// function, exactly as it read the value the writer wrote, so json text, arrays, composites and ranges come back as
    /// they were.
    /// </summary>
    public string RowLiteral(string?[] values)
    {
        var literal = new StringBuilder(2 + values.Sum(v => (v?.Length ?? 0) + 3));
        literal.Append('(');
        for (var i = 0; i < _sourceOfAttribute.Length; i++)
        {
            if (i > 0) literal.Append(',');
            var source = _sourceOfAttribute[i];
            if (source < 0 || values[source] is not { } value) continue;
            literal.Append('"');
            foreach (var c in value)
            {
                if (c is '"' or '\\') literal.Append('\\');
                literal.Append(c);
            }
            literal.Append('"');
        }
        return literal.Append(')').ToString();
    }

    /// <summary>The row as a JSON object of its columns' texts, for a row PostgreSQL can no longer read as the table's
    /// type (the table was dropped or a column's type changed before the leader decoded it): every value is kept, as
    /// a string, rather than the row lost or the stream stopped.</summary>
    public string UntypedJson(string?[] values)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            for (var i = 0; i < SourceColumns.Count; i++)
            {
                if (values[i] is { } value) json.WriteString(SourceColumns[i], value);
                else json.WriteNull(SourceColumns[i]);
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
