using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Zgres.Client;

namespace Zgres.Tests.Infrastructure;

/// <summary>The first requests of a SignalR client, made by hand so that a test can see their status codes: the
/// negotiate POST and the WebSocket upgrade (with the token in the query string, as browsers send it).</summary>
public static class HttpProbe
{
    private static readonly HttpClient Http = new();

    public static async Task<HttpResponseMessage> NegotiateAsync(Uri server, string? token = null, string? origin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, $"{ChangeHubContract.Path}/negotiate?negotiateVersion=1"));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (origin is not null) request.Headers.Add("Origin", origin);
        return await Http.SendAsync(request);
    }

    public static async Task<HttpResponseMessage> GetAsync(Uri server, string path, string? token = null, string? origin = null, string? host = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, path));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (origin is not null) request.Headers.Add("Origin", origin);
        if (host is not null) request.Headers.Host = host;
        return await Http.SendAsync(request);
    }

    /// <summary>Opens a WebSocket to the hub (no negotiate, as clients with skipNegotiation do); returns the status of
    /// the upgrade: 101 when the server took it.</summary>
    public static async Task<HttpStatusCode> UpgradeAsync(Uri server, string? token = null, string? origin = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null) socket.Options.SetRequestHeader("Origin", origin);
        var query = token is null ? "" : $"?access_token={Uri.EscapeDataString(token)}";
        try
        {
            await socket.ConnectAsync(new Uri($"ws://{server.Authority}{ChangeHubContract.Path}{query}"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            return socket.HttpStatusCode;
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }
    }
}
