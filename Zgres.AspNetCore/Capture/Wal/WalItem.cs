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
