namespace Zgres.Client.LiveQueries;

/// <summary>How the rows changed: by events as they came, by a join's events folded together, by the first snapshot,
/// or by a later one that replaced them.</summary>
internal enum RowChangeKind
{
    Applied,
    Loaded,
    Resynced,
}
