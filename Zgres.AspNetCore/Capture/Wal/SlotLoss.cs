namespace Zgres.AspNetCore.Capture.Wal;

/// <param name="LostAt">The log's position in the lost slot.</param>
/// <param name="CreatedAt">Where the new slot starts.</param>
internal sealed record SlotLoss(DateTimeOffset At, string LostAt, string CreatedAt);
