using System.Text.Json;
using Zgres.AspNetCore.EventLog;

namespace Zgres.AspNetCore.Routing;

/// <summary>The row of an event before and after its change, and its input each time: what a filtered subscription's
/// decision looks at. Read from a document its caller owns and disposes.</summary>
/// <param name="Operation"><c>INSERT</c>, <c>UPDATE</c>, <c>DELETE</c> or <c>TRUNCATE</c>.</param>
/// <param name="Before">The row before the change (an UPDATE's old row, a DELETE's row); <c>default</c> otherwise.</param>
/// <param name="After">The row after the change (an INSERT's or UPDATE's new row); <c>default</c> otherwise.</param>
/// <param name="InputBefore">The input of <paramref name="Before"/>.</param>
/// <param name="InputAfter">The input of <paramref name="After"/>.</param>
internal readonly record struct EventRow(string Operation, JsonElement Before, JsonElement After, string? InputBefore, string? InputAfter)
{
    public static EventRow Of(JsonDocument eventJson, ChangeRecord change)
    {
        var root = eventJson.RootElement;
        var data = root.GetProperty("data");
        return change.Operation switch
        {
            "INSERT" => new(change.Operation, default, data, null, change.InputId),
            "UPDATE" => new(change.Operation, root.TryGetProperty("old", out var old) ? old : default, data, change.OldInputId, change.InputId),
            "DELETE" => new(change.Operation, data, default, change.InputId, null),
            _ => new(change.Operation, default, default, null, null),
        };
    }
}
