using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Security;

/// <summary>The rules between settings that attributes cannot say.</summary>
internal sealed class SecurityOptionsValidator : IValidateOptions<ZgresOptions>
{
    public ValidateOptionsResult Validate(string? name, ZgresOptions options)
    {
        var errors = new List<string>();
        var jwt = options.Auth.Jwt;
        if (jwt.SigningKey is not null && jwt.Authority is not null)
        {
            errors.Add("Set either Zgres:Auth:Jwt:SigningKey (tokens your backend signs) or Zgres:Auth:Jwt:Authority (an OpenID Connect provider), not both.");
        }
        foreach (var origin in options.AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" || origin.TrimEnd('/').Length < origin.Length - 1)
            {
                errors.Add($"Zgres:AllowedOrigins: '{origin}' is not an origin; write scheme://host[:port], such as https://app.example.com.");
            }
        }
        foreach (var table in options.Tables.Where(table => table.Access is { Roles.Count: 0, InputClaim: null }))
        {
            errors.Add($"Zgres:Tables: {table.Name} has an Access section with neither Roles nor InputClaim, which would let no one subscribe; remove it to open the table to every user.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
