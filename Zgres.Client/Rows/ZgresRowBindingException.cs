using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Zgres.Client;

/// <summary>A row did not fit the type it was read as: a column's JSON value cannot become its property's type (a
/// text where a number is expected, an unknown enum label, a number too large). It names the table, the column, the
/// JSON kind of the value (never the value, which may be private) and the property. Raised through
/// <see cref="ZgresClient.HandlerFailed"/>; the event (or the live view's row) is skipped, never bound to a default.</summary>
[SuppressMessage("Design", "CA1032:Implement standard exception constructors", Justification = "The error always names its table, column and property.")]
public sealed class ZgresRowBindingException : Exception
{
    /// <summary>Creates the error for <paramref name="column"/> of <paramref name="table"/>.</summary>
    /// <param name="table">The table, as <c>schema.table</c>.</param>
    /// <param name="rowType">The type the row was read as.</param>
    /// <param name="column">The column whose value did not fit, or null when the row as a whole did not.</param>
    /// <param name="valueKind">The JSON kind of the column's value.</param>
    /// <param name="property">The property (and its type) the column was read into, or null when no property takes it.</param>
    /// <param name="innerException">System.Text.Json's error.</param>
    public ZgresRowBindingException(string table, Type rowType, string? column, JsonValueKind valueKind, string? property, Exception? innerException)
        : base(Describe(table, rowType, column, valueKind, property), innerException)
    {
        ArgumentNullException.ThrowIfNull(rowType);
        Table = table;
        RowType = rowType;
        Column = column;
        ValueKind = valueKind;
        Property = property;
    }

    /// <summary>The table, as <c>schema.table</c>.</summary>
    public string Table { get; }

    /// <summary>The type the row was read as.</summary>
    public Type RowType { get; }

    /// <summary>The column whose value did not fit, or null when the row as a whole did not.</summary>
    public string? Column { get; }

    /// <summary>The JSON kind of the column's value (<see cref="JsonValueKind.Undefined"/> when unknown).</summary>
    public JsonValueKind ValueKind { get; }

    /// <summary>The property the column was read into, as <c>Name (Type)</c>, or null.</summary>
    public string? Property { get; }

    private static string Describe(string table, Type rowType, string? column, JsonValueKind valueKind, string? property) => column is null
        ? $"A row of {table} could not be read as {rowType?.Name}."
        : $"Column '{column}' of {table} holds a JSON {valueKind}, which does not fit {rowType?.Name}.{property ?? "(no property)"}.";
}
