using System.Text.Json;

namespace Zgres.Server.Filtering;

/// <summary>The parts of an event's wire JSON a filter looks at; read from a document its caller owns and disposes.</summary>
/// <param name="Operation"><c>INSERT</c>, <c>UPDATE</c>, <c>DELETE</c>, <c>TRUNCATE</c> or <c>SNAPSHOT</c>.</param>
/// <param name="Data">The new row (the old one for a DELETE).</param>
/// <param name="Old">The row before an UPDATE; <c>default</c> otherwise.</param>
public readonly record struct EventRow(string Operation, JsonElement Data, JsonElement Old)
{
    public static EventRow Of(JsonDocument eventJson)
    {
        var root = eventJson.RootElement;
        return new EventRow(root.GetProperty("operation").GetString()!, root.GetProperty("data"),
            root.TryGetProperty("old", out var old) ? old : default);
    }
}
