namespace Zgres.AspNetCore.Database;

/// <summary>Advisory lock keys ("zgres" in ASCII, then a number), shared with the SQL of the migrations.</summary>
internal static class AdvisoryLocks
{
    /// <summary>Held while migrating and while attaching triggers, so several instances starting at once take turns.</summary>
    public const long SchemaChange = 0x7A_67_72_65_73;

    /// <summary>Held shared by every listener that waits for doorbells only (one whose role may not read the channel that
    /// carries events, and those of servers before trigger v5); while no listener holds this or
    /// <see cref="ListeningForEvents"/>, writers skip the NOTIFY (<c>zgres.ring_doorbell()</c>).</summary>
    public const long Listening = 0x7A_67_72_65_73_01;

    /// <summary>Held shared by every listener that takes events from their notifications: while one does, writers send
    /// each event on the channel that carries events.</summary>
    public const long ListeningForEvents = 0x7A_67_72_65_73_04;

    /// <summary>Held shared by every writing transaction from its first event to its end; a listener that polled takes
    /// it exclusively before it waits for doorbells again, so that it reads every transaction that skipped its ring.</summary>
    public const long InFlight = 0x7A_67_72_65_73_02;

    /// <summary>Held by one batch of retention at a time (transaction-scoped), so several instances do not prune at once.</summary>
    public const long Retention = 0x7A_67_72_65_73_03;
}
