using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.AspNetCore.Capture;
using Zgres.AspNetCore.Capture.Trigger;
using Zgres.AspNetCore.Capture.Wal;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Demo;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.Embedded;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Hubs;
using Zgres.AspNetCore.Listening;
using Zgres.AspNetCore.Operations;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Security;
using Zgres.AspNetCore.Snapshots;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Hosting;

/// <summary>Registers Zgres in an app's services: <see cref="AddZgres"/>.</summary>
public static class ZgresServiceCollectionExtensions
{
    /// <summary>
    /// Registers Zgres: settings (validated at start), the database (embedded when no connection string is set), schema
    /// setup, the listener, the dispatcher, retention and the hub. Hosted services start in this order and stop in reverse.
    /// </summary>
    public static IServiceCollection AddZgres(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ZgresOptions>().Bind(configuration.GetSection(ZgresOptions.Section))
            .PostConfigure(options => DemoTable.AddToEmbeddedDefault(options, configuration))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ZgresOptions>, ZgresOptionsValidator>();
        services.AddOptions<EmbeddedOptions>().Bind(configuration.GetSection(EmbeddedOptions.Section));
        services.AddMetrics();
        services.AddSingleton<ZgresMetrics>();

        // The database first, so it is ready before anything needs it and stops after everything else; then its schema,
        // the demo table of the embedded default, and the watched tables with the capture attached to them.
        services.AddSingleton<ZgresDatabase>();
        services.AddHostedService(sp => sp.GetRequiredService<ZgresDatabase>());
        services.AddSingleton<DatabaseRetry>();
        services.AddSingleton<ReadGate>();
        services.AddSingleton<SharedReplays>();
        services.AddSingleton<SnapshotTransactions>();
        services.AddSingleton<SchemaMigrator>();
        services.AddHostedService<MigrateOnStart>();
        services.AddSingleton<DemoTable>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoTable>());
        services.AddSingleton<TableCatalog>();
        var fromWal = ZgresOptions.CaptureOf(configuration) == CaptureMode.Wal;
        if (fromWal)
        {
            services.AddSingleton<WalCaptureState>();
            // The slot before the schema watch takes triggers off a table; the decoder once the tables are known.
            services.AddSingleton<WalSource>();
            services.AddHostedService(sp => sp.GetRequiredService<WalSource>());
            services.AddSingleton<ITableCapture, PublicationCapture>();
            services.AddSingleton<ILogCatchUp, WalLogCatchUp>();
        }
        else
        {
            // What servers that captured from the WAL left in the slot, before triggers are attached.
            services.AddSingleton<WalHandover>();
            services.AddHostedService(sp => sp.GetRequiredService<WalHandover>());
            services.AddSingleton<ITableCapture, TriggerCapture>();
            services.AddSingleton<ILogCatchUp, LoggedAtCommit>();
        }
        services.AddHostedService<TableWatch>();
        if (fromWal) services.AddHostedService<WalCaptureService>();

        // The log: retention, and the listener that reads it in commit order.
        services.AddHostedService<RetentionService>();

        // Dispatch on the listener's loop; the stream position the hub joins at.
        services.AddSingleton<StreamPosition>();
        services.AddSingleton<ChangeDispatcher>();
        services.AddHostedService<ListenerService>();

        // Who may subscribe to what, from where.
        services.AddZgresSecurity(configuration);

        // The hub, with the fan-out that never waits for a slow client. JSON only: events are framed once, in its
        // format, from the JSON PostgreSQL wrote (ChangeFrames).
        services.AddSignalR()
            .AddJsonProtocol(json => json.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ZgresJsonContext.Default))
            // AddHubOptions also makes SignalR use the hub's own options, which the limits below go into.
            .AddHubOptions<ChangeHub>(hub => hub.SupportedProtocols = [ChangeFrames.Protocol]);
        services.AddOptions<HubOptions<ChangeHub>>().Configure<IOptions<ZgresOptions>>((hub, zgres) =>
        {
            hub.MaximumReceiveMessageSize = zgres.Value.Limits.MaxMessageSize;
            // Zgres pings the connections it sent nothing for Zgres:KeepAliveInterval (ChangeLifetimeManager); SignalR's
            // keep-alive would ping all of them at every interval, in one burst, those that get events too.
            hub.KeepAliveInterval = TimeSpan.MaxValue;
            // A subscribe or unsubscribe (HubRequestFilter runs them one at a time) beside the transaction waits allowed.
            hub.MaximumParallelInvocationsPerClient = 1 + zgres.Value.Limits.MaxTransactionWaitsPerConnection;
            hub.AddFilter<HubRequestFilter>();
        });
        services.AddSingleton<RefusalLog>();
        services.TryAddSingleton(TimeProvider.System);
        // SignalR logs every failed invocation, a client's bad request included, as an error with a stack trace;
        // HubRequestFilter logs them instead (refusals summed up and escaped, real failures whole).
        services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", LogLevel.Critical));
        services.AddSingleton<FilterIndex>();
        services.AddSingleton<TableColumnsCache>();
        services.AddSingleton<ChangeLifetimeManager>();
        services.AddSingleton<HubLifetimeManager<ChangeHub>>(sp => sp.GetRequiredService<ChangeLifetimeManager>());
        services.AddSingleton<StreamCatchUp>();
        services.AddSingleton<SubscriptionJoiner>();
        services.AddSingleton<TransactionWaiter>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ZgresJsonContext.Default));

        services.AddZgresOperations(configuration);
        return services;
    }
}
