using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Snapshots;

/// <summary>
/// The rows of a table (one input's, the filter's) as one REPEATABLE READ snapshot sees them, streamed page by page
/// as the client takes them, never held whole; and the snapshot itself, from which the subscription's stream goes on.
/// The rows are read through a cursor of a <see cref="SharedSnapshot"/> transaction, one page ahead of the client: no
/// connection is held for this reader alone while its client reads.
/// </summary>
internal sealed class TableSnapshot : IAsyncDisposable
{
    public const int PageSize = 250;

    private readonly SnapshotTransactions _transactions;
    private readonly SharedSnapshot _shared;
    private readonly string _cursor;

    private TableSnapshot(SnapshotTransactions transactions, SharedSnapshot shared, string cursor)
    {
        _transactions = transactions;
        _shared = shared;
        _cursor = cursor;
    }

    /// <summary>The <c>pg_snapshot</c> the rows were read in: every transaction it sees is in the rows.</summary>
    public string Snapshot => _shared.Snapshot;

    /// <summary>Opens the snapshot; null with the row count when more than <paramref name="maxRows"/> rows match.</summary>
    public static async Task<(TableSnapshot? Snapshot, long Count)> OpenAsync(SnapshotTransactions transactions, WatchedTable table, string? inputId,
        ColumnType? inputType, RowFilter? filter, int maxRows, CancellationToken cancellationToken)
    {
        var shared = await transactions.JoinAsync(cancellationToken);
        try
        {
            var cursor = shared.NextCursorName();
            var (where, parameters) = Where(table, inputId, inputType, filter);
            var count = await shared.RunAsync(async (connection, transaction) =>
            {
                var headSql = $"SELECT count(*) FROM (SELECT 1 FROM {table.Name.Quoted} t WHERE {where} LIMIT {maxRows + 1L}) n";
                var matching = await shared.CountOnceAsync(Key(headSql, parameters()), async () =>
                {
                    await using var head = new NpgsqlCommand(headSql, connection, transaction);
                    // $1 is the rows statement's; the head has the same numbering for the filter's values.
                    head.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [] });
                    foreach (var parameter in parameters()) head.Parameters.Add(parameter);
                    return (long)(await head.ExecuteScalarAsync(CancellationToken.None))!;
                });
                if (matching > maxRows) return matching;
                // The event is built in place as a zgres.events row, in its columns' order (id, xid, snapshot_xmin,
                // created_at, schema_name, table_name, operation, input_id, data, old, snapshot, old_input_id, txid), and
                // its data as the trigger writes it: zgres.published only when the table leaves columns out. Parsing the
                // row back from JSON and publishing every column took three quarters of PostgreSQL's time per row, and a
                // snapshot's transaction has one backend, so one core, for all its readers.
                var data = table.PublishesAllColumns ? "to_json(t)" : "zgres.published(to_json(t), $1::text[])";
                var input = table.InputColumn is { } column ? $"t.{Sql.Identifier(column)}::text" : "NULL";
                await using var declare = new NpgsqlCommand($"""
                    DECLARE {cursor} NO SCROLL CURSOR FOR
                    SELECT zgres.event_json(ROW(0, NULL, NULL, now(), {Sql.Literal(table.Name.Schema)}, {Sql.Literal(table.Name.Name)},
                               'SNAPSHOT', {input}, {data}, NULL, NULL, NULL, NULL)::zgres.events)
                    FROM {table.Name.Quoted} t WHERE {where}
                    """, connection, transaction);
                declare.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. table.PublishedColumns] });
                foreach (var parameter in parameters()) declare.Parameters.Add(parameter);
                await declare.ExecuteNonQueryAsync(CancellationToken.None);
                return matching;
            }, guarded: true, cancellationToken);
            if (count <= maxRows) return (new TableSnapshot(transactions, shared, cursor), count);
            await transactions.ReleaseAsync(shared);
            return (null, count);
        }
        catch
        {
            await transactions.ReleaseAsync(shared);
            throw;
        }
    }

    /// <summary>The rows as events (<c>SNAPSHOT</c>, id 0, the published columns in <c>data</c>), framed by
    /// <c>zgres.event_json()</c> like every other event, in pages; the next page is fetched while the caller sends one.</summary>
    public async IAsyncEnumerable<IReadOnlyList<byte[]>> ReadPagesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = FetchAsync(cancellationToken);
        try
        {
            while (true)
            {
                var page = await next;
                if (page.Count == PageSize) next = FetchAsync(cancellationToken);
                if (page.Count > 0) yield return page;
                if (page.Count < PageSize) yield break;
            }
        }
        finally
        {
            // A page read ahead that nobody takes still has to finish before the cursor is closed.
            await next.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private Task<IReadOnlyList<byte[]>> FetchAsync(CancellationToken cancellationToken) =>
        _shared.RunAsync<IReadOnlyList<byte[]>>(async (connection, transaction) =>
        {
            await using var fetch = new NpgsqlCommand($"FETCH FORWARD {PageSize} FROM {_cursor}", connection, transaction);
            await using var reader = await fetch.ExecuteReaderAsync(CancellationToken.None);
            var page = new List<byte[]>(PageSize);
            while (await reader.ReadAsync(CancellationToken.None)) page.Add(reader.GetFieldValue<byte[]>(0));
            return page;
        }, guarded: false, cancellationToken);

    /// <summary>Closes the cursor and lets go of the shared transaction.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_shared.IsBroken)
            {
                await _shared.RunAsync(async (connection, transaction) =>
                {
                    await using var close = new NpgsqlCommand($"CLOSE {_cursor}", connection, transaction);
                    return await close.ExecuteNonQueryAsync(CancellationToken.None);
                }, guarded: false, CancellationToken.None);
            }
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception) || exception is NpgsqlException)
        {
            // The transaction is lost; there is no cursor left to close.
        }
        finally
        {
            await _transactions.ReleaseAsync(_shared);
        }
    }

    /// <summary>
    /// The subscription in SQL. Each condition compares the column with a parameter of the column's own (base) type,
    /// written in the spelling <see cref="FilterValue.SqlText"/> gives, so that PostgreSQL decides it as the live path
    /// does and the column's indexes serve it. An input is compared as text, as inputs are named; as a value of the input
    /// column's type (<paramref name="inputType"/>, when known) if it is one in the spelling <c>::text</c> gives, so that
    /// an index on the column finds the input's rows rather than a scan of the table.
    /// </summary>
    /// <returns>The condition, and a factory of its parameters ($2 on: $1 is the rows statement's published columns).</returns>
    public static (string Where, Func<IEnumerable<NpgsqlParameter>> Parameters) Where(WatchedTable table, string? inputId, ColumnType? inputType, RowFilter? filter)
    {
        var sql = new StringBuilder("true");
        var values = new List<object>();
        string Next(object value)
        {
            values.Add(value);
            return $"${values.Count + 1}";
        }
        // Refused at subscribe for a table without an input column.
        if (inputId is not null)
        {
            var input = $"t.{Sql.Identifier(table.InputColumn!)}";
            sql.Append(inputType is not null && IsSpelledAs(inputId, inputType)
                ? $" AND {input} = {Next(inputId)}::text::{inputType.SqlName}"
                : $" AND {input}::text = {Next(inputId)}");
        }
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

    // A statement with its parameters' values, each written with its length, so that no two differ only in where one
    // value ends and the next begins.
    private static string Key(string sql, IEnumerable<NpgsqlParameter> parameters)
    {
        var key = new StringBuilder(sql);
        foreach (var value in parameters.Select(parameter => parameter.Value))
        {
            foreach (var text in value as string[] ?? [(string)value!]) key.Append(CultureInfo.InvariantCulture, $"\n{text.Length}:{text}");
            key.Append('\n');
        }
        return key.ToString();
    }

    // Whether inputId is how ::text writes a value of the type: then the column equals that value exactly when its text
    // equals inputId. Only for the types whose text has one spelling and whose index a text comparison cannot use.
    private static bool IsSpelledAs(string inputId, ColumnType type) => type.Kind switch
    {
        ColumnKind.Integer => long.TryParse(inputId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole)
            && whole >= type.Min && whole <= type.Max && whole.ToString(CultureInfo.InvariantCulture) == inputId,
        ColumnKind.Uuid => Guid.TryParseExact(inputId, "D", out var uuid) && uuid.ToString("D") == inputId,
        _ => false,
    };

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
