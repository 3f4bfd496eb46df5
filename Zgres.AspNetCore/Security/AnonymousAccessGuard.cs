using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Zgres.AspNetCore.Security;

/// <summary>
/// The secure default: with no authentication configured, the server serves anonymous clients only while every
/// address it listens on is loopback (the embedded demo, a developer's machine). Listening elsewhere, it refuses to
/// start and says why; the check runs once the server has bound its addresses, whichever way they were configured.
/// Until then, and for any request that reaches a non-loopback address, the hub and the API answer 503/403.
/// </summary>
internal sealed partial class AnonymousAccessGuard(ClientAccess access, IServer server, ILogger<AnonymousAccessGuard> logger) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (!access.IsLoopbackOnly) return Task.CompletedTask;
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var exposed = addresses.Where(address => !IsLoopback(address)).ToArray();
        if (exposed.Length == 0) return Task.CompletedTask;
        var reason = $"Zgres listens on {string.Join(", ", exposed)} with no authentication: anyone who can reach it could read every change. " +
                     "Configure Zgres:Auth:Jwt:SigningKey or Zgres:Auth:Jwt:Authority, listen on loopback only (Urls=http://localhost:5080), " +
                     "or set Zgres:Auth:AllowAnonymous=true to serve anonymous clients on purpose.";
        LogRefused(reason);
        throw new AnonymousAccessException(reason);
    }

    /// <summary>True for <c>localhost</c> and loopback IP addresses; false for wildcards (<c>0.0.0.0</c>, <c>[::]</c>,
    /// <c>*</c>, <c>+</c>) and every other name.</summary>
    public static bool IsLoopback(string address)
    {
        var host = HostOf(address);
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>The host of a listen address (<c>http://host:port/…</c>, or without scheme), an IPv6 one with its brackets:
    /// Kestrel's address syntax, which takes <c>*</c> and <c>+</c> that <see cref="Uri"/> refuses.</summary>
    public static string HostOf(string address)
    {
        var start = address.IndexOf("://", StringComparison.Ordinal);
        var authority = start < 0 ? address : address[(start + 3)..];
        return authority.StartsWith('[')
            ? authority[..(authority.IndexOf(']', StringComparison.Ordinal) + 1)]
            : authority.Split(':', '/')[0];
    }

    /// <summary>Whether a request reached the server on a loopback address (for anonymous clients).</summary>
    public static bool ArrivedOnLoopback(HttpContext http) =>
        http.Connection.LocalIpAddress is { } local && IPAddress.IsLoopback(local);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 800, EventName = "AnonymousAccessRefused", Level = LogLevel.Critical, Message = "Refusing to start: {Reason}")]
    private partial void LogRefused(string reason);
}
