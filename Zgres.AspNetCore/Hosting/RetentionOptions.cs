using System.ComponentModel.DataAnnotations;

namespace Zgres.AspNetCore.Hosting;

/// <summary>How long, and how many, events <c>zgres.events</c> keeps for resume.</summary>
public sealed class RetentionOptions
{
    /// <summary>Events older than this are pruned.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>At most this many events are kept.</summary>
    [Range(1, long.MaxValue)]
    public long MaxEvents { get; set; } = 1_000_000;

    /// <summary>How often pruning runs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Rows deleted per statement, so pruning never holds long locks or long transactions.</summary>
    [Range(1, 1_000_000)]
    public int BatchSize { get; set; } = 5_000;
}
