namespace Zgres.Client;

/// <summary>Arguments of <see cref="ZgresClient.GapDetected"/>: the log no longer held every event after <paramref name="After"/>,
/// or never held it (a point above every id the log issued, from another database): reload what the subscription shows.</summary>
/// <param name="Table">The subscription's table.</param>
/// <param name="InputId">The subscription's input id, or null.</param>
/// <param name="After">The id the resume asked for.</param>
/// <param name="Filter">The subscription's filter, or null: several filtered subscriptions of one table tell their gaps apart by it.</param>
public sealed record ZgresGap(string Table, string? InputId, long After, IReadOnlyList<FilterCondition>? Filter = null);
