namespace Zgres.Client;

/// <summary>A table the server exposes, as listed by <c>GET /api/tables</c>.</summary>
/// <param name="Name">The table as <c>schema.table</c>.</param>
/// <param name="Columns">The columns each event publishes, in table order.</param>
/// <param name="InputColumn">The column whose value names the <c>input:</c> group of a row; null when the table has
/// none (it can be followed whole or filtered, not by input).</param>
/// <param name="Problem">Why the table no longer matches its configuration (a renamed or dropped column, a dropped
/// table), as the server's last catalog check found it; null when it matches.</param>
/// <param name="Key">The primary key's columns, when all are published: what tells the rows apart. Empty otherwise.</param>
public sealed record ExposedTable(string Name, IReadOnlyList<string> Columns, string? InputColumn, string? Problem = null, IReadOnlyList<string>? Key = null);
