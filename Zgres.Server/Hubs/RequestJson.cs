using System.Text.Json;

namespace Zgres.Server.Hubs;

/// <summary>Reading a client's request JSON the way SignalR's JSON protocol binds it, and quoting it back briefly.</summary>
public static class RequestJson
{
    /// <summary>Property names match case-insensitively, as the protocol's own binding does.</summary>
    public static bool Is(JsonProperty property, string name) => string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Text a client sent, cut for an error message.</summary>
    public static string Cut(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
