namespace Zgres.AspNetCore.Capture.Wal;

/// <param name="Bytes">WAL written since the slot's confirmed position.</param>
/// <param name="Age">Since the leader last confirmed a position (it does every heartbeat while it runs).</param>
/// <param name="Active">Whether a leader holds the slot.</param>
internal sealed record SlotLag(long Bytes, TimeSpan Age, bool Active);
