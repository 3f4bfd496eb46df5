using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization.Metadata;
using Zgres.Client.Rows;

namespace Zgres.Client;

// Live views: a query's rows kept equal to the database, built on the same subscriptions.
public sealed partial class ZgresClient
{
    /// <summary>Opens a live view of a table (or of one input of it, or of the rows a filter selects): it takes a
    /// snapshot, then applies every change by primary key, and returns once the snapshot's rows are in
    /// (<see cref="ZgresLiveQuery{TRow}.Rows"/>). Rows are read as <typeparamref name="TRow"/> through
    /// <see cref="ZgresClientOptions.RowSerializerOptions"/>.</summary>
    /// <typeparam name="TRow">A record or class whose properties are the published columns.</typeparam>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>; it needs a primary key among its published columns.</param>
    /// <param name="options">The input and the filter; null for the whole table.</param>
    /// <param name="cancellationToken">Stops waiting for the snapshot (the view is then closed).</param>
    /// <returns>The view; dispose it to stop.</returns>
    /// <exception cref="Microsoft.AspNetCore.SignalR.HubException">The server refused the view (unknown table, bad filter, no
    /// primary key, a snapshot over its limit); the message says why.</exception>
    /// <exception cref="InvalidOperationException">The client was not started.</exception>
    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    public Task<ZgresLiveQuery<TRow>> LiveQueryAsync<TRow>(string table, ZgresLiveQueryOptions? options = null, CancellationToken cancellationToken = default) =>
        LiveQueryAsync(table, options, RowJson.TypeInfo<TRow>(_options.RowSerializerOptions), cancellationToken);

    /// <summary>Opens a live view whose rows are read as <typeparamref name="TRow"/> through source-generated metadata
    /// (trimming and native AOT safe); see <see cref="LiveQueryAsync{TRow}(string, ZgresLiveQueryOptions?, CancellationToken)"/>.</summary>
    /// <typeparam name="TRow">A record or class whose properties are the published columns.</typeparam>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>; it needs a primary key among its published columns.</param>
    /// <param name="options">The input and the filter; null for the whole table.</param>
    /// <param name="rowType">How to read a row, for example <c>MyJsonContext.Default.Order</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the snapshot (the view is then closed).</param>
    /// <returns>The view; dispose it to stop.</returns>
    public async Task<ZgresLiveQuery<TRow>> LiveQueryAsync<TRow>(string table, ZgresLiveQueryOptions? options, JsonTypeInfo<TRow> rowType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rowType);
        var view = new ZgresLiveQuery<TRow>(this, table, options ?? new ZgresLiveQueryOptions(), new RowBinder<TRow>(rowType), _options);
        try
        {
            await view.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await view.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return view;
    }
}
