using System.Text.Json;

namespace Zgres.Client.LiveQueries;

/// <summary>What changed in a live view's rows, by key: rows added, rows whose values changed (their new values), rows
/// removed (their last values); and the events that changed them.</summary>
internal sealed record RowChanges(
    RowChangeKind Kind,
    List<KeyValuePair<string, JsonElement>> Added,
    List<KeyValuePair<string, JsonElement>> Updated,
    List<KeyValuePair<string, JsonElement>> Removed,
    IReadOnlyList<ChangeEvent> Events)
{
    public bool IsEmpty => Added.Count == 0 && Updated.Count == 0 && Removed.Count == 0;
}
