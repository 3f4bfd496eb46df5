using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Zgres.Client;

/// <summary>Options of a <see cref="ZgresClient"/>.</summary>
public sealed class ZgresClientOptions
{
    /// <summary>The first reconnect delay; each further attempt doubles it (with jitter) up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan InitialReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between reconnect attempts. The client never stops retrying.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Events received but not yet handled, per subscription. When a handler falls this far behind, the client
    /// stops reading; the server then disconnects it and it resumes where it was, losing nothing.</summary>
    public int DeliveryBuffer { get; set; } = 10_000;

    /// <summary>How many recent event ids each subscription remembers to drop duplicates (replays, two groups).</summary>
    public int DuplicateWindow { get; set; } = 100_000;

    /// <summary>Returns the access token to connect with; called on every connect and reconnect, so it can hand out a fresh
    /// token after the server closed a connection whose token expired. Null: no token.</summary>
    public Func<Task<string?>>? AccessTokenProvider { get; set; }

    /// <summary>Configures the underlying HTTP connection (headers, transports).</summary>
    public Action<HttpConnectionOptions>? ConfigureHttpConnection { get; set; }

    /// <summary>How typed rows (<c>SubscribeAsync&lt;T&gt;</c>, <c>StreamAsync&lt;T&gt;</c>, <c>LiveQueryAsync&lt;T&gt;</c> without a
    /// <c>JsonTypeInfo&lt;T&gt;</c>) are read; null: snake_case columns to PascalCase properties (any case), enums from
    /// their labels. Trimmed or native AOT apps pass source-generated metadata to those methods instead.</summary>
    public JsonSerializerOptions? RowSerializerOptions { get; set; }

    /// <summary>Logs reconnects and handler failures.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}

/// <summary>The client's connection to the hub.</summary>
public enum ZgresConnectionState
{
    /// <summary>Not started, or disposed.</summary>
    Disconnected,

    /// <summary><see cref="ZgresClient.StartAsync"/> is connecting.</summary>
    Connecting,

    /// <summary>Connected, with every subscription joined (and resumed after a reconnect).</summary>
    Connected,

    /// <summary>The connection was lost; the client is reconnecting and will resume every subscription.</summary>
    Reconnecting,
}

/// <summary>Arguments of <see cref="ZgresClient.StateChanged"/>.</summary>
/// <param name="Previous">The state before.</param>
/// <param name="Current">The state now.</param>
/// <param name="Error">What ended the connection, when a loss caused the change.</param>
public sealed record ZgresConnectionStateChange(ZgresConnectionState Previous, ZgresConnectionState Current, Exception? Error);

/// <summary>Arguments of <see cref="ZgresClient.GapDetected"/>: the log no longer held every event after <paramref name="After"/>,
/// or never held it (a point above every id the log issued, from another database): reload what the subscription shows.</summary>
/// <param name="Table">The subscription's table.</param>
/// <param name="InputId">The subscription's input id, or null.</param>
/// <param name="After">The id the resume asked for.</param>
/// <param name="Filter">The subscription's filter, or null: several filtered subscriptions of one table tell their gaps apart by it.</param>
public sealed record ZgresGap(string Table, string? InputId, long After, IReadOnlyList<FilterCondition>? Filter = null);

/// <summary>What to subscribe to beyond the table: see <see cref="ZgresClient.SubscribeAsync(string, ZgresSubscribeOptions, Func{ChangeEvent, Task}, CancellationToken)"/>.</summary>
public sealed class ZgresSubscribeOptions
{
    /// <summary>Only rows with this input id; null for every row.</summary>
    public string? InputId { get; init; }

    /// <summary>Resume after this event id (for example one stored by a previous run); null for live events only.</summary>
    public long? After { get; init; }

    /// <summary>Only rows for which every condition holds (<see cref="FilterCondition.Of(string, string, string?)"/>).
    /// An event of such a subscription says with <see cref="ChangeEvent.InFilter"/> whether its row is in the filter now.</summary>
    public IReadOnlyList<FilterCondition>? Filter { get; init; }

    /// <summary>First deliver every row that matches now as <see cref="ChangeOperation.Snapshot"/> events, then each change
    /// after them. After a reconnect the subscription resumes from its last event, without a new snapshot (a gap is
    /// reported by <see cref="ZgresClient.GapDetected"/>: reload then). Cannot be combined with <see cref="After"/>.</summary>
    public bool Snapshot { get; init; }
}
