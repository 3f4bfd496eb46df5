using Npgsql;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture;

/// <summary>
/// How the changes of the watched tables reach the event log: what the server keeps attached to each table (and,
/// where there is one, the process that writes the log). The schema watch asks it to attach each table that matches
/// its configuration, at start and whenever the table is created again.
/// </summary>
internal interface ITableCapture
{
    /// <summary>What is attached to a table, for the log: "Zgres's triggers (per row)".</summary>
    string Describe(WatchedTableOptions options);

    /// <summary>Attaches the capture to the table where it is missing or differs from the configuration; false when it
    /// was already as configured, in which case nothing was written and no table lock taken.</summary>
    Task<bool> AttachAsync(NpgsqlConnection connection, WatchedTableOptions options, WatchedTable table, CancellationToken cancellationToken);
}
