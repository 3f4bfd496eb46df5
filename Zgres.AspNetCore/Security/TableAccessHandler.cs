using Microsoft.AspNetCore.Authorization;

namespace Zgres.AspNetCore.Security;

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
