using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>What this instance knows of capture from the WAL, for readiness and metrics: whether it leads (holds the
/// slot), how far the slot lags, and whether the slot was lost. Written by the capture service and the slot setup.</summary>
internal sealed class WalCaptureState
{
    private readonly TimeProvider _time;

    public WalCaptureState(TimeProvider time, ZgresMetrics metrics)
    {
        _time = time;
        metrics.Meter.CreateObservableGauge(ZgresMeter.WalSlotLag, () => Lag?.Bytes ?? 0, unit: "By",
            description: "WAL written since the replication slot's confirmed position, at the last heartbeat");
        metrics.Meter.CreateObservableGauge(ZgresMeter.WalSlotLagAge, () => Lag?.Age.TotalSeconds ?? 0, unit: "s",
            description: "Time since the leader last confirmed a position to the replication slot");
        metrics.Meter.CreateObservableGauge(ZgresMeter.WalLeader, () => IsLeader ? 1 : 0, description: "1 while this instance holds the replication slot, else 0");
    }

    /// <summary>How long a lost slot keeps readiness Degraded: long enough for an operator's alert to see it.</summary>
    public static readonly TimeSpan LossReported = TimeSpan.FromMinutes(10);

    private volatile SlotLag? _lag;
    private volatile SlotLoss? _loss;
    private volatile bool _leading;

    public bool IsLeader => _leading;

    /// <summary>The slot's lag at the last look (every heartbeat interval); null before the first.</summary>
    public SlotLag? Lag => _lag;

    /// <summary>The last loss of the slot, while it is recent (<see cref="LossReported"/>).</summary>
    public SlotLoss? RecentLoss => _loss is { } loss && _time.GetUtcNow() - loss.At < LossReported ? loss : null;

    internal void Leading(bool leading) => _leading = leading;

    internal void Measured(SlotLag lag) => _lag = lag;

    internal void SlotLost(string lostAt, string createdAt) => _loss = new SlotLoss(_time.GetUtcNow(), lostAt, createdAt);
}
