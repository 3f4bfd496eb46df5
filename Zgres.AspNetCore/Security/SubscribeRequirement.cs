using Microsoft.AspNetCore.Authorization;

namespace Zgres.AspNetCore.Security;

/// <summary>May the user subscribe to the <see cref="SubscriptionResource"/>? Asked of <see cref="IAuthorizationService"/>
/// on every <c>Subscribe</c>, replays included.</summary>
public sealed class SubscribeRequirement : IAuthorizationRequirement
{
    /// <summary>The one requirement, as Zgres asks it.</summary>
    public static readonly SubscribeRequirement Instance = new();

    private SubscribeRequirement() { }
}
