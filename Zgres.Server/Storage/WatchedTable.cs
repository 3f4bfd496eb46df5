using Zgres.Client;
using Zgres.Server.Security;

namespace Zgres.Server.Storage;

/// <summary>A configured table as checked against the catalog: what it publishes and the hub groups of its events.</summary>
public sealed class WatchedTable(TableName name, IReadOnlyList<string> publishedColumns, string inputColumn, TableAccessOptions? access = null)
{
    public TableName Name { get; } = name;

    /// <summary>The columns events carry, in table order.</summary>
    public IReadOnlyList<string> PublishedColumns { get; } = publishedColumns;

    public string InputColumn { get; } = inputColumn;

    /// <summary>Who may subscribe (<c>Zgres:Tables:N:Access</c>); null: every authenticated user.</summary>
    public TableAccessOptions? Access { get; } = access;

    /// <summary><c>table:{schema}.{table}</c>: every change of the table.</summary>
    public string TableGroup { get; } = $"table:{name}";

    private readonly string _inputGroupPrefix = $"input:{name}:";

    /// <summary><c>input:{schema}.{table}:{inputId}</c>: the changes of one input.</summary>
    public string InputGroup(string inputId) => string.Concat(_inputGroupPrefix, inputId);

    public ExposedTable ToExposed() => new(Name.ToString(), PublishedColumns, InputColumn);
}
