using Zgres.Client;
using Zgres.Server.Database;
using Zgres.Server.EventLog;
using Zgres.Server.Security;

namespace Zgres.Server.Tables;

/// <summary>A configured table as checked against the catalog: what it publishes and the hub groups of its events, and
/// what is wrong with it, if anything (see <see cref="SchemaChanges"/>). A table with a problem stays exposed, so its
/// subscribers keep their groups and get its events again once it is repaired.</summary>
public sealed class WatchedTable(TableName name, IReadOnlyList<string> publishedColumns, string inputColumn, string? problem = null, TableAccessOptions? access = null)
{
    public TableName Name { get; } = name;

    /// <summary>The columns events carry, in table order.</summary>
    public IReadOnlyList<string> PublishedColumns { get; } = publishedColumns;

    public string InputColumn { get; } = inputColumn;

    /// <summary>Why the table does not match its configuration (a renamed or dropped column, a dropped table); null when it does.</summary>
    public string? Problem { get; } = problem;

    /// <summary>Who may subscribe (<c>Zgres:Tables:N:Access</c>); null: every authenticated user.</summary>
    public TableAccessOptions? Access { get; } = access;

    /// <summary><c>table:{schema}.{table}</c>: every change of the table.</summary>
    public string TableGroup { get; } = $"table:{name}";

    /// <summary>What every <see cref="InputGroup"/> of the table starts with.</summary>
    public string InputGroupPrefix { get; } = $"input:{name}:";

    /// <summary><c>input:{schema}.{table}:{inputId}</c>: the changes of one input.</summary>
    public string InputGroup(string inputId) => string.Concat(InputGroupPrefix, inputId);

    public ExposedTable ToExposed() => new(Name.ToString(), PublishedColumns, InputColumn, Problem);
}
