namespace Zgres.Client;

/// <summary>What changed in a live view, by primary key (see <see cref="ZgresLiveQuery{TRow}.Rows"/> for the key's form).</summary>
/// <typeparam name="TRow">The view's row type.</typeparam>
/// <param name="Added">Rows that entered the view.</param>
/// <param name="Updated">Rows whose values changed, with their new values.</param>
/// <param name="Removed">Rows that left the view (deleted, moved out of its input or filter, truncated), with their last values.</param>
/// <param name="Events">The events applied, in stream order: one, or those of a join folded together (a resume after a
/// reconnect); none for a resync, which compares the old contents with a new snapshot.</param>
public sealed record ZgresLiveQueryChange<TRow>(
    IReadOnlyDictionary<string, TRow> Added,
    IReadOnlyDictionary<string, TRow> Updated,
    IReadOnlyDictionary<string, TRow> Removed,
    IReadOnlyList<ChangeEvent> Events);
