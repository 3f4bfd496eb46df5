using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Zgres.Server.Database;
using Zgres.Server.EventLog;
using Zgres.Server.Filtering;
using Zgres.Server.Tables;

namespace Zgres.Server.Snapshots;

/// <summary>
/// The rows of a table (one input's, the filter's) as one REPEATABLE READ snapshot sees them, streamed page by page
/// as the client takes them, never held whole; and the snapshot itself, from which the subscription's stream goes on.
/// Its connection is held until disposed.
/// </summary>
public sealed class TableSnapshot : IAsyncDisposable
{
    public const int PageSize = 250;

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly NpgsqlCommand _rows;

    private TableSnapshot(NpgsqlConnection connection, NpgsqlTransaction transaction, NpgsqlCommand rows, string snapshot)
    {
        _connection = connection;
        _transaction = transaction;
        _rows = rows;
        Snapshot = snapshot;
    }

    /// <summary>The <c>pg_snapshot</c> the rows were read in: every transaction it sees is in the rows.</summary>
    public string Snapshot { get; }


    /// <summary>Opens the snapshot; null with the row count when more than <paramref name="maxRows"/> rows match.</summary>
    public static async Task<(TableSnapshot? Snapshot, long Count)> OpenAsync(NpgsqlDataSource dataSource, WatchedTable table, string? inputId,
        RowFilter? filter, int maxRows, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            // The trigger writes timestamptz values in UTC; the snapshot's rows must read the same.
            await using (var setup = new NpgsqlCommand("SET TRANSACTION READ ONLY; SET LOCAL TimeZone = 'UTC'", connection, transaction))
            {
                await setup.ExecuteNonQueryAsync(cancellationToken);
            }
            var (where, parameters) = Where(table, inputId, filter);
            string snapshot;
            long count;
            await using (var head = new NpgsqlCommand($"""
                SELECT pg_current_snapshot()::text,
                       (SELECT count(*) FROM (SELECT 1 FROM {table.Name.Quoted} t WHERE {where} LIMIT {maxRows + 1L}) n)
                """, connection, transaction))
            {
                // $1 is the rows statement's; the head has the same numbering for the filter's values.
                head.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [] });
                foreach (var parameter in parameters()) head.Parameters.Add(parameter);
                await using var reader = await head.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                (snapshot, count) = (reader.GetString(0), reader.GetInt64(1));
            }
            if (count > maxRows)
            {
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
                return (null, count);
            }
            var rows = new NpgsqlCommand($"""
                SELECT zgres.event_json(json_populate_record(NULL::zgres.events, json_build_object(
                           'id', 0, 'created_at', now(), 'operation', 'SNAPSHOT',
                           'schema_name', {Sql.Literal(table.Name.Schema)}, 'table_name', {Sql.Literal(table.Name.Name)},
                           'input_id', {(table.InputColumn is { } input ? $"t.{Sql.Identifier(input)}::text" : "NULL")}, 'data', zgres.published(to_json(t), $1::text[]))))
                FROM {table.Name.Quoted} t WHERE {where}
                """, connection, transaction);
            rows.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. table.PublishedColumns] });
            foreach (var parameter in parameters()) rows.Parameters.Add(parameter);
            return (new TableSnapshot(connection, transaction, rows, snapshot), count);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The rows as events (<c>SNAPSHOT</c>, id 0, the published columns in <c>data</c>), framed by
    /// <c>zgres.event_json()</c> like every other event, in pages.</summary>
    public async IAsyncEnumerable<IReadOnlyList<string>> ReadPagesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var reader = await _rows.ExecuteReaderAsync(cancellationToken);
        var page = new List<string>(PageSize);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(reader.GetString(0));
            if (page.Count < PageSize) continue;
            yield return page;
            page = new List<string>(PageSize);
        }
        if (page.Count > 0) yield return page;
    }

    public async ValueTask DisposeAsync()
    {
        await _rows.DisposeAsync();
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }

    /// <summary>
    /// The subscription in SQL. Each condition compares the column with a parameter of the column's own (base) type,
    /// written in the spelling <see cref="FilterValue.SqlText"/> gives, so that PostgreSQL decides it as the live path
    /// does and the column's indexes serve it; an input is compared as text, as inputs are named.
    /// </summary>
    /// <returns>The condition, and a factory of its parameters ($2 on: $1 is the rows statement's published columns).</returns>
    public static (string Where, Func<IEnumerable<NpgsqlParameter>> Parameters) Where(WatchedTable table, string? inputId, RowFilter? filter)
    {
        var sql = new StringBuilder("true");
        var values = new List<object>();
        string Next(object value)
        {
            values.Add(value);
            return $"${values.Count + 1}";
        }
        // Refused at subscribe for a table without an input column.
        if (inputId is not null) sql.Append(CultureInfo.InvariantCulture, $" AND t.{Sql.Identifier(table.InputColumn!)}::text = {Next(inputId)}");
        foreach (var condition in filter?.Conditions ?? [])
        {
            var column = $"t.{Sql.Identifier(condition.Column)}";
            var type = condition.Type.SqlName;
            sql.Append(" AND ").Append(condition.Operator switch
            {
                FilterOperator.Is => condition.IsValue switch { null => $"{column} IS NULL", true => $"{column} IS TRUE", false => $"{column} IS FALSE" },
                FilterOperator.In => $"{column} = ANY ({Next(condition.Values.Select(v => v.SqlText).ToArray())}::text[]::{type}[])",
                _ => $"{column} {Operator(condition.Operator)} {Next(condition.Values[0].SqlText)}::text::{type}",
            });
        }
        return (sql.ToString(), () => values.Select(value => value is string[] list
            ? (NpgsqlParameter)new NpgsqlParameter<string[]> { TypedValue = list }
            : new NpgsqlParameter<string> { TypedValue = (string)value, NpgsqlDbType = NpgsqlDbType.Text }));
    }

    private static string Operator(FilterOperator op) => op switch
    {
        FilterOperator.Eq => "=",
        FilterOperator.Neq => "<>",
        FilterOperator.Lt => "<",
        FilterOperator.Lte => "<=",
        FilterOperator.Gt => ">",
        FilterOperator.Gte => ">=",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
