using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;

namespace Zgres.AspNetCore.Security;

/// <summary>
/// A connection's user, for <c>IHubContext.Clients.User(...)</c>: the token's subject (<c>sub</c>, which Zgres's tokens
/// keep under its own name, see <c>MapInboundClaims</c>), or .NET's name identifier for a scheme the hosting application
/// added. SignalR's default looks for the latter only, so users of Zgres tokens would be nobody.
/// </summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) =>
        connection.User?.FindFirst("sub")?.Value ?? connection.User?.FindFirst(ClaimTypes.NameIdentifier)?.Value;
}
