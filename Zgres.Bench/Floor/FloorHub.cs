using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Zgres.Client;

namespace Zgres.Bench.Floor;

/// <summary>The floor's hub: <c>Subscribe({ inputId })</c> joins the input's group, as the bench's wire clients ask
/// Zgres; nothing else (no replay, no filter, no table subscription).</summary>
internal sealed class FloorHub : Hub
{
    [HubMethodName(ChangeHubContract.Subscribe)]
    public Task Subscribe(JsonElement request) =>
        request.ValueKind == JsonValueKind.Object && request.TryGetProperty("inputId", out var input) && input.ValueKind == JsonValueKind.String
            ? Groups.AddToGroupAsync(Context.ConnectionId, NotificationRelay.GroupOf(input.GetString()!))
            : throw new HubException("The floor's Subscribe takes { \"inputId\": \"N\" }.");
}
