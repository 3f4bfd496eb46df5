using System.Net.Sockets;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Zgres.AspNetCore.Database;

/// <summary>
/// Retries a database read that failed for a passing reason: a pooled connection whose backend was terminated or
/// restarted (57P01-57P03, which is how the first use of a dead pooled connection fails), a broken socket, a
/// server that cannot accept connections yet. Each retry clears the pools, whose other idle connections died with it.
/// </summary>
internal sealed partial class DatabaseRetry
{
    private readonly ResiliencePipeline _pipeline;

    public DatabaseRetry(ZgresDatabase database, ILogger<DatabaseRetry> logger) =>
        _pipeline = Backoff(maxAttempts: 4, maxDelay: TimeSpan.FromSeconds(2), IsTransient, (exception, delay, attempt) =>
        {
            database.ClearPools();
            LogRetrying(logger, exception?.Message, delay, attempt);
        });

    /// <summary>Exponential backoff with jitter from 100 ms, the one retry policy of the server's database work (the
    /// listener's reconnect uses it with no attempt limit).</summary>
    public static ResiliencePipeline Backoff(int maxAttempts, TimeSpan maxDelay, Func<Exception, bool> handles, Action<Exception?, TimeSpan, int> onRetry) =>
        new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle(handles),
            MaxRetryAttempts = maxAttempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = maxDelay,
            OnRetry = retry =>
            {
                onRetry(retry.Outcome.Exception, retry.RetryDelay, retry.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        }).Build();

    public ValueTask<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(read, cancellationToken);

    /// <summary>Whether the failure says the database (or the way to it) is unavailable for now, not that the request is wrong.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.IsTransient || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal) || postgres.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or SocketException or TimeoutException,
        IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    [LoggerMessage(EventId = 240, EventName = "DatabaseReadRetrying", Level = LogLevel.Warning, Message = "A database read failed ({Reason}); retrying in {Delay} (attempt {Attempt})")]
    private static partial void LogRetrying(ILogger logger, string? reason, TimeSpan delay, int attempt);
}
