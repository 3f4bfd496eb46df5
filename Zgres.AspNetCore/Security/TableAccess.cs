using System.Security.Claims;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Security;

/// <summary>The <c>Access</c> rules of a table, and the sentence that says what a refused user lacks.</summary>
internal static class TableAccess
{
    /// <summary>Role claims as issuers write them: <c>role</c> (a JSON array gives several), <c>roles</c> (Entra ID and
    /// others) and .NET's own claim type (tokens minted from a <see cref="ClaimsIdentity"/> without outbound mapping).</summary>
    private static readonly string[] RoleClaimTypes = ["role", "roles", ClaimTypes.Role];

    public static bool Allows(ClaimsPrincipal user, TableAccessOptions? access, string? inputId) =>
        access is null
        || access.Roles.Any(role => user.IsInRole(role) || user.HasClaim(claim => RoleClaimTypes.Contains(claim.Type) && claim.Value == role))
        || (inputId is not null && access.InputClaim is { } claim && user.FindAll(claim).Any(c => string.Equals(c.Value, inputId, StringComparison.Ordinal)));

    /// <summary>Whether the user may subscribe to the table in some way: the whole table, or an input of their own.</summary>
    public static bool AllowsSomeInput(ClaimsPrincipal user, TableAccessOptions? access) =>
        Allows(user, access, inputId: null) || (access?.InputClaim is { } claim && user.HasClaim(c => c.Type == claim));

    /// <summary>For example "Subscribing to input 43 of public.orders needs role support or a customer_id claim of 43."</summary>
    public static string DescribeRefusal(WatchedTable table, string? inputId)
    {
        var access = table.Access;
        var needs = new List<string>();
        if (access?.Roles is { Count: > 0 } roles) needs.Add($"role {string.Join(" or ", roles)}");
        if (inputId is not null && access?.InputClaim is { } claim) needs.Add($"a {claim} claim of {inputId}");
        var what = inputId is null ? $"Subscribing to the whole table {table.Name}" : $"Subscribing to input {inputId} of {table.Name}";
        if (needs.Count == 0) return $"{what} is not allowed{(inputId is null && access?.InputClaim is { } own ? $"; subscribe to an input of your {own} claim instead" : "")}.";
        var hint = inputId is null && access?.InputClaim is { } inputClaim ? $" (or subscribe to an input of your {inputClaim} claim)" : "";
        return $"{what} needs {string.Join(" or ", needs)}{hint}.";
    }
}
