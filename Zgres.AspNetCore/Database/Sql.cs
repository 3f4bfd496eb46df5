namespace Zgres.AspNetCore.Database;

/// <summary>
/// The one way names and texts go into SQL the server builds: every schema, table and column name is quoted (a
/// configured name is taken literally, so <c>Sales.Orders</c> is <c>"Sales"."Orders"</c>, never folded to lower case),
/// and the few texts that cannot be parameters (trigger arguments) are quoted literals.
/// </summary>
internal static class Sql
{
    /// <summary><c>"name"</c>, with any <c>"</c> doubled.</summary>
    public static string Identifier(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary><c>'text'</c>, with any <c>'</c> doubled (standard_conforming_strings, on since PostgreSQL 9.1).</summary>
    public static string Literal(string text) => $"'{text.Replace("'", "''", StringComparison.Ordinal)}'";
}
