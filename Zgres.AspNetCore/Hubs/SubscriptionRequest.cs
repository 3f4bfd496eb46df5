using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using static Zgres.AspNetCore.Hubs.RequestJson;

namespace Zgres.AspNetCore.Hubs;

/// <summary>
/// Reads the argument of <c>Subscribe</c> and <c>Unsubscribe</c> by hand rather than letting SignalR bind it: a
/// binding failure reaches the client as "Error binding arguments" and nothing more, while each mistake here gets a
/// <see cref="HubException"/> that names the property and what it should have been.
/// </summary>
/// <param name="Table">The table as the client named it.</param>
/// <param name="InputId">The input, or null for every row.</param>
/// <param name="After">Replay after this id first.</param>
/// <param name="Filter">The filter conditions, read against the table's columns by <see cref="Filtering.RowFilter"/>.</param>
/// <param name="Snapshot">Send the rows that match now first.</param>
internal sealed record SubscriptionRequest(string Table, string? InputId, long? After, JsonElement? Filter, bool Snapshot)
{
    private const string Shape = "{ table, inputId, after, filter, snapshot }";

    public static SubscriptionRequest Parse(JsonElement json)
    {
        if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) throw new HubException($"A subscription is required: {Shape}.");
        if (json.ValueKind != JsonValueKind.Object) throw new HubException($"A subscription must be an object {Shape}, not {Describe(json)}.");
        RequireValidText(json, "the request");

        string? table = null, inputId = null;
        long? after = null;
        JsonElement? filter = null;
        var snapshot = false;
        foreach (var property in json.EnumerateObject())
        {
            var value = property.Value;
            if (Is(property, "table"))
            {
                table = value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Null => null,
                    _ => throw new HubException($"table must be a string such as \"public.orders\", not {Describe(value)}."),
                };
            }
            else if (Is(property, "inputId"))
            {
                inputId = value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    // A number names the same input as its text: 42 and "42" are one group.
                    JsonValueKind.Number => value.GetRawText(),
                    JsonValueKind.Null => null,
                    _ => throw new HubException($"inputId must be a string, a number or null, not {Describe(value)}."),
                };
            }
            else if (Is(property, "after"))
            {
                after = value.ValueKind switch
                {
                    JsonValueKind.Number when value.TryGetInt64(out var id) => id,
                    JsonValueKind.Null => null,
                    _ => throw new HubException($"after must be an event id (a whole number) or null, not {Describe(value)}."),
                };
            }
            else if (Is(property, "filter"))
            {
                filter = value.ValueKind == JsonValueKind.Null ? null : value.Clone();
            }
            else if (Is(property, "snapshot"))
            {
                snapshot = value.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False or JsonValueKind.Null => false,
                    _ => throw new HubException($"snapshot must be true or false, not {Describe(value)}."),
                };
            }
            else
            {
                throw new HubException($"A subscription has no property '{Cut(property.Name)}'; it has table, inputId, after, filter and snapshot.");
            }
        }
        if (snapshot && after is not null)
        {
            throw new HubException("snapshot and after do not go together: a snapshot sends the rows as they are now, after resumes a stream; resume a snapshot's subscription with after alone.");
        }
        return new SubscriptionRequest(table ?? "", inputId, after, filter, snapshot);
    }
}
