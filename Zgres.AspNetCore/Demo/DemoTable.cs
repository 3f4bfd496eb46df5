using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Demo;

/// <summary>
/// The table the embedded default creates and watches, so a newcomer sees events at once: with no connection string
/// and no <c>Zgres:Tables</c>, the settings name it, and it is created after the migrations and before the schema
/// watch looks for it.
/// </summary>
internal sealed class DemoTable(ZgresDatabase database, IOptions<ZgresOptions> options) : IHostedService
{
    public static readonly TableName Name = new("public", "inputs");

    /// <summary>Adds the demo table to an embedded server's empty <c>Zgres:Tables</c>.</summary>
    public static void AddToEmbeddedDefault(ZgresOptions options, IConfiguration configuration)
    {
        if (ZgresDatabase.IsEmbeddedIn(configuration) && options.Tables.Count == 0) options.Tables.Add(new WatchedTableOptions { Name = Name.ToString() });
    }

    /// <summary>Whether this server watches the demo table in its own embedded database.</summary>
    public bool IsServed => database.IsEmbedded && options.Value.Tables.Any(table => table.Name == Name.ToString());

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!IsServed) return;
        await using var command = database.DataSource.CreateCommand($"""
            CREATE TABLE IF NOT EXISTS {Name.Quoted} (
                id         bigserial PRIMARY KEY,
                input_id   int,
                value      text,
                created_at timestamptz DEFAULT now()
            )
            """);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
