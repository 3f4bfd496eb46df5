using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Security;

/// <summary>
/// How clients of the hub and <c>/api/tables</c> are admitted: with Zgres's own JWT scheme when <c>Zgres:Auth:Jwt</c>
/// is set; else with the hosting application's default authentication scheme when it has one; else anonymously, which
/// <see cref="AnonymousAccessGuard"/> allows only on loopback (or with <c>Zgres:Auth:AllowAnonymous</c>).
/// </summary>
internal sealed class ClientAccess(IOptions<ZgresOptions> options, IAuthenticationSchemeProvider schemes)
{
    /// <summary>The authorization policy of the hub and <c>/api/tables</c>.</summary>
    public const string PolicyName = "Zgres";

    /// <summary>Zgres's own bearer scheme, registered when <c>Zgres:Auth:Jwt</c> is set.</summary>
    public const string JwtScheme = "ZgresJwt";

    private AuthOptions Auth => options.Value.Auth;

    /// <summary>The schemes that authenticate clients; empty when clients are anonymous.</summary>
    public IReadOnlyList<string> AuthenticationSchemes
    {
        get
        {
            if (Auth.Jwt.IsConfigured) return [JwtScheme];
            // The scheme provider keeps its schemes in memory: this completes at once.
            var hostDefault = schemes.GetDefaultAuthenticateSchemeAsync().GetAwaiter().GetResult();
            return hostDefault is null ? [] : [hostDefault.Name];
        }
    }

    /// <summary>No scheme and no explicit AllowAnonymous: anonymous clients, served on loopback only.</summary>
    public bool IsLoopbackOnly => !Auth.AllowAnonymous && AuthenticationSchemes.Count == 0;

    public AuthorizationPolicy BuildPolicy()
    {
        var policy = new AuthorizationPolicyBuilder([.. AuthenticationSchemes]);
        // With AllowAnonymous (or no scheme at all) a token, when sent, still names the user for the Access rules.
        return Auth.AllowAnonymous || AuthenticationSchemes.Count == 0
            ? policy.RequireAssertion(_ => true).Build()
            : policy.RequireAuthenticatedUser().Build();
    }
}
