using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Database;

/// <summary>Brings the database's Zgres schema to this server's version before anything needs it
/// (<c>Zgres:Migrate</c>), or, with migrations left to an operator, checks that they ran.</summary>
internal sealed class MigrateOnStart(ZgresDatabase database, SchemaMigrator migrator, IOptions<ZgresOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => options.Value.Migrate
        ? migrator.MigrateAsync(database, cancellationToken)
        : SchemaMigrator.EnsureMigratedAsync(database, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
