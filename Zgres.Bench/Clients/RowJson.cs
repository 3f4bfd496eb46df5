using System.Buffers.Text;
using System.Text.Json;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Clients;

/// <summary>
/// Reads a row's stamp from the <c>data</c> object of an event without materializing it: Zgres publishes the bench
/// table's columns as JSON numbers (<c>input_id</c>, <c>seq</c>, <c>sent_us</c>, and <c>region</c> in the filtered
/// scenario); the seed trigger publishes every
/// column as a string, the stamp packed in <c>value</c> as <c>"seq:sent_us"</c>.
/// </summary>
internal static class RowJson
{
    /// <summary>Reads the object the reader is positioned on (its StartObject) to its end.</summary>
    public static bool TryReadData(ref Utf8JsonReader reader, out RowStamp row)
    {
        row = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }
        long input = -1, seq = -1, sent = -1, region = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("input_id"u8)) { reader.Read(); input = ReadInteger(ref reader); }
            else if (reader.ValueTextEquals("seq"u8)) { reader.Read(); seq = ReadInteger(ref reader); }
            else if (reader.ValueTextEquals("sent_us"u8)) { reader.Read(); sent = ReadInteger(ref reader); }
            else if (reader.ValueTextEquals("region"u8)) { reader.Read(); region = ReadInteger(ref reader); }
            else if (reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped) (seq, sent) = SplitStamp(reader.ValueSpan);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (input < 0 || input > int.MaxValue || seq < 0 || sent < 0 || region is < 0 or > int.MaxValue) return false;
        row = new RowStamp((int)input, seq, sent, (int)region);
        return true;
    }

    /// <summary>Parses a whole seed-node message: the trigger's payload, with the row under <c>data</c>.</summary>
    public static bool TryReadSeedPayload(ReadOnlySpan<byte> payload, out RowStamp row)
    {
        row = default;
        var reader = new Utf8JsonReader(payload);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                return TryReadData(ref reader, out row);
            }
            reader.Read();
            reader.Skip();
        }
        return false;
    }

    private static long ReadInteger(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number when reader.TryGetInt64(out var number) => number,
        JsonTokenType.String when !reader.ValueIsEscaped && Utf8Parser.TryParse(reader.ValueSpan, out long parsed, out var used) && used == reader.ValueSpan.Length => parsed,
        _ => -1,
    };

    private static (long Seq, long Sent) SplitStamp(ReadOnlySpan<byte> text)
    {
        var colon = text.IndexOf((byte)':');
        if (colon < 0) return (-1, -1);
        return Utf8Parser.TryParse(text[..colon], out long seq, out _) && Utf8Parser.TryParse(text[(colon + 1)..], out long sent, out _)
            ? (seq, sent)
            : (-1, -1);
    }
}
