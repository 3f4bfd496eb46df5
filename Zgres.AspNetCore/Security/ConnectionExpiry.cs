using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Security;

/// <summary>
/// A token is checked when a connection opens, but a hub connection lives for hours: this closes it when its token
/// expires (plus the accepted clock skew). The client is told with a SignalR close message that says why and allows it
/// to reconnect, so it comes back with a fresh token and resumes.
/// </summary>
internal sealed partial class ConnectionExpiry(ChangeLifetimeManager clients, IOptions<ZgresOptions> options, TimeProvider time, ILogger<ConnectionExpiry> logger)
{
    /// <summary>How long a told client has to close by itself before it is disconnected.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    public void Watch(HubCallerContext connection)
    {
        if (ExpiresAt(connection) is not { } expires) return;
        _ = CloseAtAsync(connection.ConnectionId, expires + options.Value.Auth.Jwt.ClockSkew, connection.ConnectionAborted);
    }

    private static DateTimeOffset? ExpiresAt(HubCallerContext connection) =>
        connection.GetHttpContext()?.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Properties?.ExpiresUtc
        ?? (long.TryParse(connection.User?.FindFirst("exp")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null);

    private async Task CloseAtAsync(string connectionId, DateTimeOffset closeAt, CancellationToken connectionAborted)
    {
        try
        {
            var wait = closeAt - time.GetUtcNow();
            if (wait > TimeSpan.Zero) await Task.Delay(wait, time, connectionAborted);
            LogTokenExpired(connectionId);
            await clients.CloseAsync(connectionId,
                $"The access token expired at {closeAt:u}; reconnect with a new token (subscriptions resume with 'after').",
                Grace, connectionAborted);
        }
        catch (OperationCanceledException)
        {
            // The connection ended first.
        }
    }

    [LoggerMessage(EventId = 801, EventName = "TokenExpired", Level = LogLevel.Information,
        Message = "Closing connection {ConnectionId}: its access token expired; the client may reconnect with a new one")]
    private partial void LogTokenExpired(string connectionId);
}
