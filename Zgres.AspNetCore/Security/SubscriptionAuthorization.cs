using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Snapshots;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Security;

/// <summary>What a client asks to follow: the resource of a <see cref="SubscribeRequirement"/>. An application that
/// hosts Zgres can add its own <see cref="AuthorizationHandler{TRequirement, TResource}"/> for it (may this user see
/// customer 42?); a subscription is allowed when any handler succeeds.</summary>
/// <param name="Table">The table.</param>
/// <param name="InputId">The input followed, or null for the whole table.</param>
public sealed record SubscriptionResource(WatchedTable Table, string? InputId);

/// <summary>May the user subscribe to the <see cref="SubscriptionResource"/>? Asked of <see cref="IAuthorizationService"/>
/// on every <c>Subscribe</c>, replays included.</summary>
public sealed class SubscribeRequirement : IAuthorizationRequirement
{
    /// <summary>The one requirement, as Zgres asks it.</summary>
    public static readonly SubscribeRequirement Instance = new();

    private SubscribeRequirement() { }
}

/// <summary>The default rules, <c>Zgres:Tables:N:Access</c>: a table without them is open to every user the hub
/// admits; the whole table needs one of <see cref="TableAccessOptions.Roles"/>; an input needs one of them or an
/// <see cref="TableAccessOptions.InputClaim"/> claim equal to the input id. It never fails a request outright, so that
/// another handler may still allow it.</summary>
internal sealed class TableAccessHandler : AuthorizationHandler<SubscribeRequirement, SubscriptionResource>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SubscribeRequirement requirement, SubscriptionResource resource)
    {
        if (TableAccess.Allows(context.User, resource.Table.Access, resource.InputId)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}

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
