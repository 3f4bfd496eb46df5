using Zgres.Client;

namespace Zgres.Bench.Measure;

/// <summary>
/// What one client subscribes to: one input, the whole table (neither set), or, on Zgres only, the rows of one region
/// through a filter (<c>region eq N</c>, a column that is not the input column; see the filtered scenario).
/// </summary>
internal readonly record struct Follow(int? InputId, int? Region = null)
{
    /// <summary>The bench table's filtered column (added by the filtered scenario).</summary>
    public const string RegionColumn = "region";

    public static Follow WholeTable => default;

    public static Follow Input(int inputId) => new(inputId);

    public static Follow InRegion(int region) => new(null, region);

    /// <summary>The subscription's filter as the client library sends it; null without one.</summary>
    public IReadOnlyList<FilterCondition>? Filter =>
        Region is int region ? [FilterCondition.Of(RegionColumn, "eq", (decimal)region)] : null;
}
