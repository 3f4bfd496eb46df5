namespace Zgres.AspNetCore.Security;

/// <summary><c>Zgres:Tables:N:Access</c>: who may subscribe to the table. A table without it is open to every
/// authenticated user.</summary>
public sealed class TableAccessOptions
{
    /// <summary>Roles that may subscribe to the whole table and to any of its inputs.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>A claim whose values are the inputs a user may subscribe to (compared with <c>inputId</c> as text).</summary>
    public string? InputClaim { get; set; }
}
