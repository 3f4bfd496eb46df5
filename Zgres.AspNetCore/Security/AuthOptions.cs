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
