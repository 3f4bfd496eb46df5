using System.Text;
using System.Text.Json;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Clients;

/// <summary>What one SignalR JSON-protocol record said.</summary>
internal enum HubRecordKind { Other, Change, Completion, Close }

/// <summary>
/// The few pieces of the SignalR JSON hub protocol the light client needs: records end with 0x1E; the handshake is
/// <c>{"protocol":"json","version":1}</c>; invocations are type 1, completions 3, pings 6, close 7.
/// </summary>
internal static class HubWire
{
    public const byte RecordSeparator = 0x1E;

    public static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");

    public static readonly byte[] Ping = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");

    /// <summary>An invocation of the hub's <c>Subscribe</c> (through <see cref="Zgres.Client.ChangeHubContract"/>'s name).</summary>
    public static byte[] Subscribe(string invocationId, string table, Follow follow)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("type", 1);
            json.WriteString("invocationId", invocationId);
            json.WriteString("target", Zgres.Client.ChangeHubContract.Subscribe);
            json.WriteStartArray("arguments");
            json.WriteStartObject();
            json.WriteString("table", table);
            if (follow.InputId is int input) json.WriteString("inputId", input.ToString(System.Globalization.CultureInfo.InvariantCulture));
            else json.WriteNull("inputId");
            if (follow.Filter is { } filter)
            {
                json.WriteStartArray("filter");
                foreach (var condition in filter)
                {
                    json.WriteStartObject();
                    json.WriteString("column", condition.Column);
                    json.WriteString("op", condition.Op);
                    json.WritePropertyName("value");
                    condition.Value.WriteTo(json);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }
        stream.WriteByte(RecordSeparator);
        return stream.ToArray();
    }

    /// <summary>Reads one record (without its separator). For a completion or close, <paramref name="error"/> is the server's message, if any.</summary>
    public static HubRecordKind Parse(ReadOnlySpan<byte> record, out RowStamp row, out string? error)
    {
        row = default;
        error = null;
        var reader = new Utf8JsonReader(record);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return HubRecordKind.Other;
        var type = 0;
        var change = false;
        var hasRow = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("target"u8))
            {
                reader.Read();
                change = reader.ValueTextEquals("Change"u8);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("arguments"u8) && reader.Read() && reader.TokenType == JsonTokenType.StartArray)
            {
                // arguments[0] is the ChangeEvent; its "data" holds the row.
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject || hasRow)
                    {
                        reader.Skip();
                        continue;
                    }
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isData = reader.ValueTextEquals("data"u8);
                        reader.Read();
                        if (isData) hasRow = RowJson.TryReadData(ref reader, out row);
                        else reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return type switch
        {
            1 when change && hasRow => HubRecordKind.Change,
            3 => HubRecordKind.Completion,
            7 => HubRecordKind.Close,
            _ => HubRecordKind.Other,
        };
    }
}
