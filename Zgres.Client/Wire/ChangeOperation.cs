using System.Text.Json.Serialization;

namespace Zgres.Client;

/// <summary>The kind of change an event describes.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChangeOperation>))]
public enum ChangeOperation
{
    /// <summary>A row was inserted.</summary>
    [JsonStringEnumMemberName("INSERT")] Insert,

    /// <summary>A row was updated; <see cref="ChangeEvent.Old"/> holds its previous values.</summary>
    [JsonStringEnumMemberName("UPDATE")] Update,

    /// <summary>A row was deleted; <see cref="ChangeEvent.Data"/> holds its last values.</summary>
    [JsonStringEnumMemberName("DELETE")] Delete,

    /// <summary>The whole table was truncated; sent to the table's group and to each of its input groups (with
    /// <see cref="ChangeEvent.InputId"/> null).</summary>
    [JsonStringEnumMemberName("TRUNCATE")] Truncate,

    /// <summary>A row as it was when a subscription with <c>snapshot: true</c> joined (id 0), before its live changes.</summary>
    [JsonStringEnumMemberName("SNAPSHOT")] Snapshot,
}
