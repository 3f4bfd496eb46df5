using NpgsqlTypes;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// How far the log holds the slot's stream, kept in <c>zgres.wal_progress</c> with the events themselves: every
/// transaction that committed before <paramref name="Transaction"/>, and of that one all its changes when
/// <paramref name="Complete"/>, else the first <paramref name="Written"/>.
/// </summary>
internal readonly record struct WalProgress(NpgsqlLogSequenceNumber Transaction, long Written, bool Complete)
{
    public static WalProgress None => new(NpgsqlLogSequenceNumber.Invalid, 0, true);

    /// <summary>Whether the log already has change <paramref name="index"/> of the transaction that commits at
    /// <paramref name="transaction"/> (decoded again after a restart).</summary>
    public bool Holds(NpgsqlLogSequenceNumber transaction, long index) =>
        transaction < Transaction || (transaction == Transaction && (Complete || index < Written));

    /// <summary>
    /// The progress once the transaction that commits at <paramref name="transaction"/> is whole in the log. Never
    /// behind this one: a session decodes again from the slot's confirmed position, and the commits of transactions
    /// the log already held must not set the record back (a session killed right after would repeat them).
    /// </summary>
    public WalProgress Committed(NpgsqlLogSequenceNumber transaction) => transaction < Transaction ? this : new(transaction, Written, Complete: true);
}
