using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Security;

/// <summary>The <c>Zgres:Auth</c> section: who may use the hub and <c>/api/tables</c>.</summary>
public sealed class AuthOptions
{
    /// <summary>Serve clients without a token even when the server listens beyond loopback. With no authentication
    /// configured the server otherwise refuses to start on a non-loopback address.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Bearer tokens (<c>Zgres:Auth:Jwt</c>).</summary>
    [Required, ValidateObjectMembers]
    public JwtOptions Jwt { get; set; } = new();
}

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

/// <summary><c>Zgres:Tables:N:Access</c>: who may subscribe to the table. A table without it is open to every
/// authenticated user.</summary>
public sealed class TableAccessOptions
{
    /// <summary>Roles that may subscribe to the whole table and to any of its inputs.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>A claim whose values are the inputs a user may subscribe to (compared with <c>inputId</c> as text).</summary>
    public string? InputClaim { get; set; }
}

/// <summary>The <c>Zgres:Limits</c> section: what one connection may ask for.</summary>
public sealed class LimitsOptions
{
    /// <summary>Groups one connection may be in at once (a table or an input each).</summary>
    [Range(1, 100_000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>Subscribe requests one connection may make per second on average; a burst of
    /// <see cref="MaxSubscriptionsPerConnection"/> is allowed, so a reconnecting client re-subscribes everything at once.</summary>
    [Range(1, 100_000)]
    public int SubscribesPerSecond { get; set; } = 20;

    /// <summary>Largest message the hub accepts from a client, in bytes.</summary>
    [Range(1_024, 16 * 1024 * 1024)]
    public int MaxMessageSize { get; set; } = 32 * 1024;

    /// <summary>Most rows a <c>snapshot: true</c> subscribe may send; a larger snapshot is refused, asking for a filter.</summary>
    [Range(1, 100_000_000)]
    public int MaxSnapshotRows { get; set; } = 100_000;

    /// <summary><c>WaitForTransaction</c> calls one connection may have waiting at once (beside one subscribe or
    /// unsubscribe, which never queue behind them).</summary>
    [Range(1, 1_000)]
    public int MaxTransactionWaitsPerConnection { get; set; } = 16;

    /// <summary>Longest a <c>WaitForTransaction</c> call waits for its transaction to end and its events to be sent,
    /// whatever timeout the client asks for (and when it asks for none).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan MaxTransactionWait { get; set; } = TimeSpan.FromMinutes(1);
}
