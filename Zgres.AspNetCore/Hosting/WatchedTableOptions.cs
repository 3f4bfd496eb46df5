using System.ComponentModel.DataAnnotations;
using Zgres.AspNetCore.Security;

namespace Zgres.AspNetCore.Hosting;

/// <summary>One entry of <c>Zgres:Tables</c>.</summary>
public sealed class WatchedTableOptions
{
    /// <summary><c>table</c> (schema <c>public</c>) or <c>schema.table</c>.</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>The columns each event publishes; absent means every column.</summary>
    public List<string>? Columns { get; set; }

    /// <summary>The column whose value names a row's <c>input:</c> group. Absent: <c>input_id</c> when the table has
    /// one; a table without an input column (or with <c>""</c> here) has whole-table and filtered subscriptions only,
    /// and its events carry <c>inputId</c> null.</summary>
    public string? InputColumn { get; set; }

    /// <summary>Log INSERTs and DELETEs once per statement (a statement-level trigger with a transition table) instead
    /// of once per row: cheaper for tables written in batches, dearer for single-row statements. The events are the same.</summary>
    public bool StatementTriggers { get; set; }

    /// <summary>Who may subscribe; absent: every authenticated user.</summary>
    public TableAccessOptions? Access { get; set; }
}
