using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using static Zgres.AspNetCore.Hubs.RequestJson;

namespace Zgres.AspNetCore.Hubs;

/// <summary>
/// Reads the argument of <c>WaitForTransaction</c>: a transaction id as <c>pg_current_xact_id()</c> returns it (a
/// string, or a number), or <c>{ txid, timeout }</c> with the timeout in milliseconds. Each mistake gets a
/// <see cref="HubException"/> that says what was expected.
/// </summary>
/// <param name="Txid">The transaction (an <c>xid8</c>: its epoch and xid).</param>
/// <param name="Timeout">How long the client is willing to wait; null leaves it to the server.</param>
internal sealed record TransactionWaitRequest(ulong Txid, TimeSpan? Timeout)
{
    private const string Shape = "a transaction id as pg_current_xact_id() returns it (\"12345\"), or { txid, timeout } with the timeout in milliseconds";

    public static TransactionWaitRequest Parse(JsonElement json)
    {
        RequireValidText(json, "the request");
        if (json.ValueKind != JsonValueKind.Object) return new TransactionWaitRequest(ParseTxid(json), null);
        JsonElement? txid = null;
        TimeSpan? timeout = null;
        foreach (var property in json.EnumerateObject())
        {
            var value = property.Value;
            if (Is(property, "txid"))
            {
                txid = value;
            }
            else if (Is(property, "timeout"))
            {
                timeout = value.ValueKind switch
                {
                    JsonValueKind.Number when value.TryGetDouble(out var milliseconds) && milliseconds > 0 && milliseconds <= TimeSpan.MaxValue.TotalMilliseconds
                        => TimeSpan.FromMilliseconds(milliseconds),
                    JsonValueKind.Null => null,
                    _ => throw new HubException($"timeout must be a number of milliseconds above zero, or null, not {Describe(value)}."),
                };
            }
            else
            {
                throw new HubException($"A transaction wait has no property '{Cut(property.Name)}'; it has txid and timeout.");
            }
        }
        return new TransactionWaitRequest(txid is { } given ? ParseTxid(given) : throw new HubException($"txid is required: {Shape}."), timeout);
    }

    /// <summary>An <c>xid8</c> in its text form: decimal digits only, at most 2^64 - 1, and not 0 (no transaction has it).</summary>
    private static ulong ParseTxid(JsonElement value)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.Null or JsonValueKind.Undefined => throw new HubException($"A transaction id is required: {Shape}."),
            _ => throw new HubException($"The transaction id must be {Shape}, not {Describe(value)}."),
        };
        if (text.Length is 0 or > 20 || !text.All(char.IsAsciiDigit)
            || !ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var txid) || txid == 0)
        {
            throw new HubException($"'{Cut(text)}' is not a transaction id: send what pg_current_xact_id() returned, a whole number from 1 to 18446744073709551615.");
        }
        return txid;
    }
}
