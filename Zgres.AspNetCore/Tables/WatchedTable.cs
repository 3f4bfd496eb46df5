using Zgres.Client;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Security;

namespace Zgres.AspNetCore.Tables;

/// <summary>A configured table as checked against the catalog: what it publishes, its key and input column, the hub
/// groups of its events, and what is wrong with it, if anything (see <see cref="SchemaChanges"/>). A table with a
/// problem stays exposed, so its subscribers keep their groups and get its events again once it is repaired.</summary>
public sealed class WatchedTable
{
    internal WatchedTable(TableName name, IReadOnlyList<string> publishedColumns, string? inputColumn,
        IReadOnlyList<string>? primaryKey = null, string? problem = null, TableAccessOptions? access = null, bool publishesAllColumns = true)
    {
        Name = name;
        PublishedColumns = publishedColumns;
        PublishesAllColumns = publishesAllColumns;
        InputColumn = inputColumn;
        Key = primaryKey is { Count: > 0 } key && key.All(publishedColumns.Contains) ? key : [];
        Problem = problem;
        Access = access;
        TableGroup = GroupNames.Table(name);
        InputGroupPrefix = GroupNames.InputsOf(name);
    }

    /// <summary>The table.</summary>
    public TableName Name { get; }

    /// <summary>The columns events carry, in table order.</summary>
    public IReadOnlyList<string> PublishedColumns { get; }

    /// <summary>No <c>Columns</c> configured: events carry every column, ones added later too.</summary>
    public bool PublishesAllColumns { get; }

    /// <summary>The column whose value names a row's input; null when the table has none (input subscriptions are then refused).</summary>
    public string? InputColumn { get; }

    /// <summary>The primary key's columns in key order, when every one of them is published (a client can then tell
    /// rows apart, and a row that leaves a subscription is named by it); empty otherwise.</summary>
    public IReadOnlyList<string> Key { get; }

    /// <summary>Why the table does not match its configuration (a renamed or dropped column, a dropped table); null when it does.</summary>
    public string? Problem { get; }

    /// <summary>Who may subscribe (<c>Zgres:Tables:N:Access</c>); null: every authenticated user.</summary>
    public TableAccessOptions? Access { get; }

    /// <summary>The group of every change of the table (<see cref="GroupNames.Table"/>), named once per table rather than per event.</summary>
    internal string TableGroup { get; }

    /// <summary>What every <see cref="InputGroup"/> of the table starts with.</summary>
    internal string InputGroupPrefix { get; }

    /// <summary>The group of one input's changes (<see cref="GroupNames.Input"/>).</summary>
    internal string InputGroup(string inputId) => string.Concat(InputGroupPrefix, inputId);

    internal ExposedTable ToExposed() => new(Name.ToString(), PublishedColumns, InputColumn, Problem, Key);
}
