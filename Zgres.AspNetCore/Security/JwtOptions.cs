using System.ComponentModel.DataAnnotations;

namespace Zgres.AspNetCore.Security;

/// <summary>The <c>Zgres:Auth:Jwt</c> section: bearer tokens signed with a shared key, or by an OpenID Connect provider.</summary>
public sealed class JwtOptions
{
    /// <summary>At least 32 bytes of UTF-8 text: the HS256 key of tokens your own backend issues.</summary>
    [MinLength(32, ErrorMessage = "Zgres:Auth:Jwt:SigningKey must be at least 32 characters (HS256 needs a 256-bit key).")]
    public string? SigningKey { get; set; }

    /// <summary>An OpenID Connect provider whose discovery document (<c>/.well-known/openid-configuration</c>) names its
    /// issuer and signing keys. Plain http is accepted only for a loopback provider.</summary>
    [Url(ErrorMessage = "Zgres:Auth:Jwt:Authority must be an absolute http(s) URL.")]
    public string? Authority { get; set; }

    /// <summary>The <c>iss</c> a token must carry; not checked when unset (with an Authority, its discovery document's issuer is).</summary>
    public string? Issuer { get; set; }

    /// <summary>The <c>aud</c> a token must carry; not checked when unset.</summary>
    public string? Audience { get; set; }

    /// <summary>How far past its <c>exp</c> a token is still accepted (clocks of issuer and server differ); a connection
    /// is closed when its token is no longer accepted.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.Zero;

    internal bool IsConfigured => SigningKey is not null || Authority is not null;
}
