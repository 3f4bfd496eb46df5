namespace Zgres.Client;

/// <summary>What a live view shows (see <see cref="ZgresClient.LiveQueryAsync{TRow}(string, ZgresLiveQueryOptions?, CancellationToken)"/>):
/// the rows of its table that have this input id and for which every filter condition holds.</summary>
public sealed class ZgresLiveQueryOptions
{
    /// <summary>Only rows with this input id; null for every row.</summary>
    public string? InputId { get; init; }

    /// <summary>Only rows for which every condition holds (<see cref="FilterCondition.Of(string, string, string?)"/>); null for every row.</summary>
    public IReadOnlyList<FilterCondition>? Filter { get; init; }
}
