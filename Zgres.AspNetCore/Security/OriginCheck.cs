using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Security;

/// <summary>
/// Which web pages may use the hub and the API. CORS lets a browser read a cross-origin answer, but does not cover
/// WebSockets: a page on any site may open one to any server. So every request that names an <c>Origin</c> is checked
/// here: the server's own origin (the demo page) always passes, an origin in <c>Zgres:AllowedOrigins</c> passes for
/// the hub and <c>/api/tables</c>, any other gets 403. Requests without an <c>Origin</c> come from programs, not pages.
/// </summary>
internal sealed class OriginCheck(IOptions<ZgresOptions> options)
{
    private readonly HashSet<string> _allowed = new(options.Value.AllowedOrigins.Select(origin => origin.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    /// <summary>True when the request has no <c>Origin</c> or names the server's own (same scheme-less authority: a TLS
    /// proxy in front changes the scheme, not the name).</summary>
    public static bool IsSameOriginOrNone(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return true;
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    public bool IsAllowed(HttpRequest request) => IsSameOriginOrNone(request) || _allowed.Contains(request.Headers.Origin.ToString());
}
