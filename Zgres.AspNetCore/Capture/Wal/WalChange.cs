using NpgsqlTypes;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>What the decoder hands to the log writer, in WAL order.</summary>
internal abstract record WalItem;

/// <summary>The session holds the slot, and the log held the stream this far when it took it: the decoder's first item.</summary>
internal sealed record WalHold(WalProgress Progress) : WalItem;

/// <summary>One change of a watched table.</summary>
/// <param name="Operation"><c>INSERT</c>, <c>UPDATE</c>, <c>DELETE</c> or <c>TRUNCATE</c>.</param>
/// <param name="Row">The row's column texts in <see cref="WalRelation.SourceColumns"/> order: the new row, or the old one
/// for a DELETE; null for a TRUNCATE.</param>
/// <param name="Old">For an UPDATE, the row before it (whole: the table's replica identity is FULL); else null.</param>
/// <param name="Xid">The writer's transaction, as the WAL names it (32 bits; the log widens it to <c>xid8</c>).</param>
/// <param name="Transaction">Its commit, which orders it.</param>
/// <param name="Index">Its place among the transaction's watched changes, from 0.</param>
internal sealed record WalChange(WalRelation Relation, string Operation, string?[]? Row, string?[]? Old, uint Xid,
    DateTime CommitTime, NpgsqlLogSequenceNumber Transaction, long Index) : WalItem;

/// <summary>A writer transaction ended: once everything before it is in the log, the slot may confirm <paramref name="End"/>.</summary>
internal sealed record WalCommit(NpgsqlLogSequenceNumber Transaction, NpgsqlLogSequenceNumber End) : WalItem;

/// <summary>A mark of Zgres's in the WAL, outside any transaction (<see cref="WalSession.MarkAsync"/>): everything
/// that committed before it has been decoded, so the slot may confirm it even when no watched table was written.</summary>
internal sealed record WalMark(NpgsqlLogSequenceNumber Position) : WalItem;

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
