using Microsoft.AspNetCore.Authorization;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Security;

/// <summary>What a client asks to follow: the resource of a <see cref="SubscribeRequirement"/>. An application that
/// hosts Zgres can add its own <see cref="AuthorizationHandler{TRequirement, TResource}"/> for it (may this user see
/// customer 42?); a subscription is allowed when any handler succeeds.</summary>
/// <param name="Table">The table.</param>
/// <param name="InputId">The input followed, or null for the whole table.</param>
public sealed record SubscriptionResource(WatchedTable Table, string? InputId);
