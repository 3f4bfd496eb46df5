using System.Text.Json;

namespace Zgres.Client;

/// <summary>A <see cref="ChangeEvent"/> whose rows are read as <typeparamref name="T"/> (see
/// <see cref="ZgresClient.SubscribeAsync{T}(string, ZgresSubscribeOptions, Func{ChangeEvent{T}, Task}, CancellationToken)"/>).</summary>
/// <typeparam name="T">A record or class whose properties are the published columns (snake_case columns bind to
/// PascalCase properties by default).</typeparam>
/// <param name="Event">The event as it came, with its rows as JSON.</param>
/// <param name="Data">The new row (the old one for DELETE); default for TRUNCATE. A row that leaves the subscription
/// (<see cref="ChangeEvent.InFilter"/> false on an UPDATE) carries only its key columns here: its other properties are
/// their defaults, and <paramref name="Old"/> holds it as the subscription knew it.</param>
/// <param name="Old">For UPDATE, the row before the change; otherwise default.</param>
public sealed record ChangeEvent<T>(ChangeEvent Event, T? Data, T? Old)
{
    /// <summary>Event id (see <see cref="ChangeEvent.Id"/>).</summary>
    public long Id => Event.Id;

    /// <summary>When the trigger ran, in UTC.</summary>
    public DateTimeOffset Timestamp => Event.Timestamp;

    /// <summary>What happened to the row.</summary>
    public ChangeOperation Operation => Event.Operation;

    /// <summary>Schema of the changed table.</summary>
    public string Schema => Event.Schema;

    /// <summary>Name of the changed table.</summary>
    public string Table => Event.Table;

    /// <summary>The value of the table's input column as text, or <see langword="null"/>.</summary>
    public string? InputId => Event.InputId;

    /// <summary>Whether the row is in the subscription now, where that is news (see <see cref="ChangeEvent.InFilter"/>).</summary>
    public bool? InFilter => Event.InFilter;

    /// <summary>The writer's transaction id (see <see cref="ChangeEvent.Txid"/>).</summary>
    public string? Txid => Event.Txid;

    /// <summary>The new row as JSON, for columns <typeparamref name="T"/> does not hold.</summary>
    public JsonElement RawData => Event.Data;
}
