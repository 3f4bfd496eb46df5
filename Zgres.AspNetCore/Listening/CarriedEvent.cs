using System.Globalization;
using System.Text;
using System.Text.Json;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Listening;

/// <summary>
/// An event as its notification carried it (<c>zgres.event_notice()</c>, trigger v5): a JSON array of what routing
/// needs (id, xid, schema, table, operation, input, old input), a newline, and the event's wire JSON exactly as the log's
/// reads return it.
/// </summary>
/// <param name="Xid">The writer's transaction, which tells whether a read of the log has delivered the event already.</param>
internal sealed record CarriedEvent(ulong Xid, ChangeRecord Change)
{
    /// <summary>Reads a payload of the channel that carries events; throws <see cref="FormatException"/> for anything
    /// else.</summary>
    public static CarriedEvent Parse(string payload)
    {
        var newline = payload.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0) throw new FormatException("A carried event has no newline after its header.");
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(payload, 0, newline));
            Expect(ref reader, JsonTokenType.StartArray);
            Expect(ref reader, JsonTokenType.Number);
            var id = reader.GetInt64();
            var xid = ulong.Parse(Text(ref reader) ?? throw new FormatException("A carried event has no xid."), CultureInfo.InvariantCulture);
            var schema = Text(ref reader) ?? throw new FormatException("A carried event has no schema.");
            var table = Text(ref reader) ?? throw new FormatException("A carried event has no table.");
            var operation = Text(ref reader) ?? throw new FormatException("A carried event has no operation.");
            var input = Text(ref reader);
            var oldInput = Text(ref reader);
            Expect(ref reader, JsonTokenType.EndArray);
            var json = Encoding.UTF8.GetBytes(payload, newline + 1, payload.Length - newline - 1);
            return new(xid, new ChangeRecord(id, new TableName(schema, table), operation, input, oldInput, json));
        }
        catch (JsonException exception)
        {
            throw new FormatException("A carried event's header is not the JSON array it should be.", exception);
        }
    }

    private static string? Text(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) throw new FormatException("A carried event's header holds a value of the wrong kind.");
        return reader.GetString();
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token)
    {
        if (!reader.Read() || reader.TokenType != token) throw new FormatException($"A carried event's header has no {token} where one belongs.");
    }
}
