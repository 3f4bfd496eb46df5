using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// One logged change as the server moves it: what routing needs, and the event's wire JSON exactly as
/// <c>zgres.event_json()</c> wrote it, in the UTF-8 PostgreSQL sent. The JSON is forwarded as it is (with the group it is
/// sent for added), never decoded into a string, parsed into objects or serialized again, except for the few frames
/// routing rewrites (<see cref="MovesInput"/>).
/// </summary>
/// <param name="Operation"><c>INSERT</c>, <c>UPDATE</c>, <c>DELETE</c> or <c>TRUNCATE</c>.</param>
/// <param name="InputId">The row's input (the new row's for an UPDATE, the old row's for a DELETE); null for a TRUNCATE.</param>
/// <param name="OldInputId">For an UPDATE, the row's input before it.</param>
internal sealed record ChangeRecord(long Id, TableName Table, string Operation, string? InputId, string? OldInputId, ReadOnlyMemory<byte> Json)
{
    public bool IsTruncate => Operation == "TRUNCATE";

    /// <summary>An UPDATE that changed the row's input: it leaves the old input's subscribers and reaches the new one's.</summary>
    public bool MovesInput => Operation == "UPDATE" && !string.Equals(InputId, OldInputId, StringComparison.Ordinal);
}
