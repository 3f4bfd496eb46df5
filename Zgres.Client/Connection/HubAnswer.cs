using System.Text.Json;

namespace Zgres.Client.Connection;

/// <summary>The hub's answer to one of this client's requests: its result as JSON (or its error), and how many
/// numbered frames the connection had parsed before it — every event and mark the server sent ahead of the answer.</summary>
internal sealed record HubAnswer(JsonElement Result, long FramesBefore, string? Error);
