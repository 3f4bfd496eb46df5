using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace Zgres.AspNetCore.Hubs;

/// <summary>Reading a client's request JSON the way SignalR's JSON protocol binds it, and quoting it back briefly.</summary>
internal static class RequestJson
{
    /// <summary>Property names match case-insensitively, as the protocol's own binding does.</summary>
    public static bool Is(JsonProperty property, string name) => string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Refuses a request holding a string or a property name that is not valid Unicode — invalid UTF-8, or a lone
    /// surrogate, raw or escaped as <c>\ud800</c> — before anything reads it: .NET cannot make a string of it, and the
    /// read would fail as a server error rather than as the client's mistake. Nesting is bounded by the protocol's
    /// maximum depth.
    /// </summary>
    public static void RequireValidText(JsonElement json, string path)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.String when !IsValidText(json):
                throw new HubException($"{path} is not valid text (invalid UTF-8 or a lone surrogate); send text as UTF-8.");
            case JsonValueKind.Object:
                foreach (var property in json.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw new HubException($"A property name in {path} is not valid text (invalid UTF-8 or a lone surrogate); send text as UTF-8.");
                    }
                    RequireValidText(property.Value, path == "the request" ? Cut(name) : $"{path}.{Cut(name)}");
                }
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in json.EnumerateArray()) RequireValidText(item, $"{path}[{index++}]");
                break;
        }
    }

    private static bool IsValidText(JsonElement json)
    {
        try
        {
            _ = json.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>A value as an error message quotes it: briefly, and saying what kind it is.</summary>
    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Cut(value.GetString()!)}\"",
        JsonValueKind.Number => Cut(value.GetRawText()),
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    /// <summary>Text a client sent, cut for an error message.</summary>
    public static string Cut(string text) =>
        text.Length <= 64 ? text : text[..(char.IsHighSurrogate(text[63]) ? 63 : 64)] + "…"; // never half a pair: the answer must serialize
}
