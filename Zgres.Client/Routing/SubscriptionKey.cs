namespace Zgres.Client.Routing;

/// <summary>What the hub groups by: table, input and filter (its conditions as JSON text, so equal filters share).</summary>
internal readonly record struct SubscriptionKey(string Table, string? InputId, string? Filter = null);
