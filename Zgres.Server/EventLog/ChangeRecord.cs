using Zgres.Server.Database;
using Zgres.Server.Tables;

namespace Zgres.Server.EventLog;

/// <summary>
/// One logged change as the server moves it: what routing needs, and the event's wire JSON exactly as
/// <c>zgres.event_json()</c> wrote it. The JSON is forwarded as it is, never parsed into objects and serialized again.
/// A TRUNCATE has no input id, and goes to the table's group and to every input group of it.
/// </summary>
public sealed record ChangeRecord(long Id, TableName Table, string? InputId, string Json, bool IsTruncate = false);
