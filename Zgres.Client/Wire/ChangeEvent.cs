using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Zgres.Client.Rows;

namespace Zgres.Client;

/// <summary>One committed row change of a watched table, as the hub pushes it.</summary>
/// <param name="Id">Event id, unique per database, taken when the change was written (see the ordering notes in the README).</param>
/// <param name="Timestamp">When the trigger ran, in UTC.</param>
/// <param name="Operation">What happened to the row.</param>
/// <param name="Schema">Schema of the changed table.</param>
/// <param name="Table">Name of the changed table.</param>
/// <param name="InputId">The value of the table's input column as text, or <see langword="null"/>.</param>
/// <param name="Data">The published columns of the new row (of the old row for DELETE; empty for TRUNCATE), JSON-typed.</param>
/// <param name="Old">For UPDATE, the published columns before the change; otherwise <see langword="null"/>.</param>
/// <param name="Group">The hub group the event was sent for, as the subscribe answered it: whose event it is, so a
/// client with several subscriptions routes each event to the right one.</param>
/// <param name="InFilter">Whether the row is in the subscription now, where that is news: on events of a filtered
/// subscription and on snapshot rows, and on a row that moved to (<see langword="true"/>; <see cref="Old"/> is then
/// null) or from (<see langword="false"/>; <see cref="Data"/> then holds only the row's key) an input. False means a
/// view should drop the row; null on the other events of whole-table and input subscriptions.</param>
/// <param name="Txid">The writer's transaction id, as PostgreSQL's <c>pg_current_xact_id()</c> returned it to the
/// writer (the same for every event of one transaction); <see langword="null"/> on snapshot rows.</param>
public sealed record ChangeEvent(
    long Id,
    [property: JsonConverter(typeof(UtcTimestampJsonConverter))] DateTimeOffset Timestamp,
    ChangeOperation Operation,
    string Schema,
    string Table,
    string? InputId,
    JsonElement Data,
    JsonElement? Old,
    string? Group = null,
    bool? InFilter = null,
    string? Txid = null)
{
    private const string Reflection = "Rows are bound with System.Text.Json's reflection; pass a JsonTypeInfo<T> from a source-generated JsonSerializerContext instead.";

    /// <summary><see cref="Data"/> as <typeparamref name="T"/>, with source-generated metadata (trimming and native AOT
    /// safe); default for TRUNCATE.</summary>
    /// <param name="rowType">For example <c>MyJsonContext.Default.Order</c>.</param>
    /// <exception cref="ZgresRowBindingException">A column does not fit its property; the error names both.</exception>
    public T? DataAs<T>(JsonTypeInfo<T> rowType) => Operation == ChangeOperation.Truncate ? default : new RowBinder<T>(rowType).Bind(Data, $"{Schema}.{Table}");

    /// <summary><see cref="Data"/> as <typeparamref name="T"/>: snake_case columns bind to PascalCase properties and
    /// enums to their labels, unless <paramref name="options"/> say otherwise; default for TRUNCATE.</summary>
    /// <exception cref="ZgresRowBindingException">A column does not fit its property; the error names both.</exception>
    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    public T? DataAs<T>(JsonSerializerOptions? options = null) => DataAs(RowJson.TypeInfo<T>(options));

    /// <summary><see cref="Old"/> as <typeparamref name="T"/>, with source-generated metadata; default when there is none.</summary>
    /// <param name="rowType">For example <c>MyJsonContext.Default.Order</c>.</param>
    /// <exception cref="ZgresRowBindingException">A column does not fit its property; the error names both.</exception>
    public T? OldAs<T>(JsonTypeInfo<T> rowType) => Old is { } old ? new RowBinder<T>(rowType).Bind(old, $"{Schema}.{Table}") : default;

    /// <summary><see cref="Old"/> as <typeparamref name="T"/> (see <see cref="DataAs{T}(JsonSerializerOptions)"/>); default when there is none.</summary>
    /// <exception cref="ZgresRowBindingException">A column does not fit its property; the error names both.</exception>
    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    public T? OldAs<T>(JsonSerializerOptions? options = null) => OldAs(RowJson.TypeInfo<T>(options));
}
