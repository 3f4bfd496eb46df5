using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Security;

namespace Zgres.AspNetCore.Hubs;

/// <summary>
/// Every hub request passes here. Subscribes and unsubscribes run one at a time per connection, subscribes rate-limited
/// (a token bucket: a burst of <see cref="LimitsOptions.MaxSubscriptionsPerConnection"/>, then
/// <see cref="LimitsOptions.SubscribesPerSecond"/>); transaction waits run beside them, a bounded number at once (see
/// <see cref="ConnectionRequests"/>).
/// A refused request is the client's mistake, not the server's: it is counted and summed up in the log now and then,
/// escaped and without a stack trace (SignalR's own per-request error log is turned off in <c>AddZgres</c>). Any other
/// failure is the server's and is logged whole.
/// </summary>
internal sealed partial class HubRequestFilter(IOptions<ZgresOptions> options, RefusalLog refusals, ILogger<HubRequestFilter> logger) : IHubFilter
{
    private static readonly object RequestsKey = new();

    public Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        context.Context.Items[RequestsKey] = new ConnectionRequests(options.Value.Limits);
        return next(context);
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            var requests = (ConnectionRequests)invocationContext.Context.Items[RequestsKey]!;
            if (invocationContext.HubMethodName == nameof(ChangeHub.WaitForTransaction))
            {
                using var wait = requests.TryBeginWait() ?? throw new HubException(
                    $"This connection already waits for {options.Value.Limits.MaxTransactionWaitsPerConnection} transactions, the most allowed " +
                    "(Zgres:Limits:MaxTransactionWaitsPerConnection); wait for one of them to finish first.");
                return await next(invocationContext);
            }
            using (await requests.EnterMembershipAsync(invocationContext.Context.ConnectionAborted))
            {
                if (invocationContext.HubMethodName == nameof(ChangeHub.Subscribe) && !requests.TryTakeSubscribe())
                {
                    var limits = options.Value.Limits;
                    throw new HubException($"Too many subscribe requests: at most {limits.SubscribesPerSecond} per second " +
                                           $"(after a burst of {limits.MaxSubscriptionsPerConnection}) on one connection; retry in a moment.");
                }
                return await next(invocationContext);
            }
        }
        catch (HubException refusal)
        {
            refusals.Record(invocationContext.HubMethodName, refusal.Message);
            throw;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogFailed(invocationContext.HubMethodName, exception);
            throw;
        }
    }

    public Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        if (context.Context.Items.TryGetValue(RequestsKey, out var requests)) ((IDisposable)requests!).Dispose();
        return next(context, exception);
    }

    [LoggerMessage(EventId = 410, EventName = "HubMethodFailed", Level = LogLevel.Error, Message = "Hub method {Method} failed")]
    private partial void LogFailed(string method, Exception exception);
}
