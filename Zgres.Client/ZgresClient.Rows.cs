using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization.Metadata;
using Zgres.Client.Rows;

namespace Zgres.Client;

// Typed rows: the same subscriptions and streams, each event's rows read as the user's type.
public sealed partial class ZgresClient
{
    private const string Reflection = "Rows are bound with System.Text.Json's reflection; pass a JsonTypeInfo<T> from a source-generated JsonSerializerContext instead.";

    /// <summary>Subscribes (see <see cref="SubscribeAsync(string, ZgresSubscribeOptions, Func{ChangeEvent, Task}, CancellationToken)"/>)
    /// with each event's rows read as <typeparamref name="T"/> through <see cref="ZgresClientOptions.RowSerializerOptions"/>.
    /// An event whose row does not fit <typeparamref name="T"/> is reported through <see cref="HandlerFailed"/> as a
    /// <see cref="ZgresRowBindingException"/> and skipped.</summary>
    /// <typeparam name="T">A record or class whose properties are the published columns.</typeparam>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="options">What to follow and from where.</param>
    /// <param name="onChange">Called once per event, one at a time; snapshot rows first.</param>
    /// <param name="cancellationToken">Stops waiting for the hub's answer (the subscription is then removed).</param>
    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    public Task<ZgresSubscription> SubscribeAsync<T>(string table, ZgresSubscribeOptions options, Func<ChangeEvent<T>, Task> onChange, CancellationToken cancellationToken = default) =>
        SubscribeAsync(table, options, RowJson.TypeInfo<T>(_options.RowSerializerOptions), onChange, cancellationToken);

    /// <summary>Subscribes with each event's rows read as <typeparamref name="T"/> through source-generated metadata
    /// (trimming and native AOT safe), for example <c>MyJsonContext.Default.Order</c>.</summary>
    /// <typeparam name="T">A record or class whose properties are the published columns.</typeparam>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="options">What to follow and from where.</param>
    /// <param name="rowType">How to read a row.</param>
    /// <param name="onChange">Called once per event, one at a time; snapshot rows first.</param>
    /// <param name="cancellationToken">Stops waiting for the hub's answer (the subscription is then removed).</param>
    public Task<ZgresSubscription> SubscribeAsync<T>(string table, ZgresSubscribeOptions options, JsonTypeInfo<T> rowType, Func<ChangeEvent<T>, Task> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rowType);
        ArgumentNullException.ThrowIfNull(onChange);
        var rows = new RowBinder<T>(rowType);
        // A row that does not fit fails here, inside the handler call, so it takes the handler's error path.
        return SubscribeAsync(table, options, change => onChange(rows.Bind(change)), cancellationToken);
    }

    /// <summary>Streams a subscription with each event's rows read as <typeparamref name="T"/> through
    /// <see cref="ZgresClientOptions.RowSerializerOptions"/>; an event whose row does not fit is reported through
    /// <see cref="HandlerFailed"/> and skipped.</summary>
    /// <typeparam name="T">A record or class whose properties are the published columns.</typeparam>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="options">What to follow and from where.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    public IAsyncEnumerable<ChangeEvent<T>> StreamAsync<T>(string table, ZgresSubscribeOptions options, CancellationToken cancellationToken = default) =>
        StreamAsync(table, options, RowJson.TypeInfo<T>(_options.RowSerializerOptions), cancellationToken);

    /// <summary>Streams a subscription with each event's rows read as <typeparamref name="T"/> through source-generated
    /// metadata; an event whose row does not fit is reported through <see cref="HandlerFailed"/> and skipped.</summary>
    /// <typeparam name="T">A record or class whose properties are the published columns.</typeparam>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="options">What to follow and from where.</param>
    /// <param name="rowType">How to read a row.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public async IAsyncEnumerable<ChangeEvent<T>> StreamAsync<T>(string table, ZgresSubscribeOptions options, JsonTypeInfo<T> rowType, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rowType);
        var rows = new RowBinder<T>(rowType);
        await foreach (var change in StreamAsync(table, options, cancellationToken).ConfigureAwait(false))
        {
            ChangeEvent<T> typed;
            try
            {
                typed = rows.Bind(change);
            }
            catch (ZgresRowBindingException exception)
            {
                ReportHandlerFailure(exception.Table, change.InputId, change, exception);
                continue;
            }
            yield return typed;
        }
    }
}
