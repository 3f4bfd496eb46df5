using System.Buffers;
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
    private const int MaxHeaderOnStack = 512;

    /// <summary>Reads a payload of the channel that carries events; throws <see cref="FormatException"/> for anything
    /// else.</summary>
    public static CarriedEvent Parse(string payload)
    {
        var newline = payload.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0) throw new FormatException("A carried event has no newline after its header.");
        // The header is a few dozen bytes as a rule (longer only with long inputs): read from the stack, not a new array.
        var header = payload.AsSpan(0, newline);
        var length = Encoding.UTF8.GetMaxByteCount(header.Length);
        var rented = length > MaxHeaderOnStack ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> utf8 = rented is null ? stackalloc byte[MaxHeaderOnStack] : rented;
            var reader = new Utf8JsonReader(utf8[..Encoding.UTF8.GetBytes(header, utf8)]);
            Expect(ref reader, JsonTokenType.StartArray);
            Expect(ref reader, JsonTokenType.Number);
            var id = reader.GetInt64();
            Expect(ref reader, JsonTokenType.String);
            if (!ulong.TryParse(reader.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var xid)) throw new FormatException("A carried event's xid is not a number.");
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
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
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
