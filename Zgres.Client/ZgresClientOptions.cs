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
