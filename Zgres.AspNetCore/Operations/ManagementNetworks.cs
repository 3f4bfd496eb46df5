using System.Net;
using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Operations;

/// <summary>
/// Who may read the management endpoints: callers on loopback always, and callers in
/// <see cref="OperationsOptions.AllowedNetworks"/>. Decided by the socket's peer address, never by a header a caller
/// could write (behind a proxy on the same machine, every caller looks local: allow the proxy's network only if it
/// forwards nothing else there).
/// </summary>
internal sealed class ManagementNetworks(IOptions<OperationsOptions> options)
{
    private readonly IPNetwork[] _allowed = [.. options.Value.AllowedNetworks.Select(network => IPNetwork.Parse(network))];

    public bool Allows(IPAddress? caller)
    {
        if (caller is null) return false;
        // A dual-stack socket reports IPv4 callers as ::ffff:a.b.c.d; the networks are written as IPv4.
        if (caller.IsIPv4MappedToIPv6) caller = caller.MapToIPv4();
        return IPAddress.IsLoopback(caller) || _allowed.Any(network => network.Contains(caller));
    }
}
