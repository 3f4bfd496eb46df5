using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// Invocations of a client method that returns a value (<c>IHubContext.Clients.Client(id).InvokeAsync</c>) waiting for
/// their completion: each is known by its invocation id, and completed only by the connection it was sent to.
/// </summary>
internal sealed class ClientResults
{
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private long _lastId;

    private sealed record Pending(string ConnectionId, Type ResultType, Action<CompletionMessage> Complete, Action<Exception> Fail);

    /// <summary>A new invocation id, and the task its completion ends; the registration ends with it.</summary>
    public (string InvocationId, Task<T> Result) Add<T>(string connectionId)
    {
        var invocationId = Interlocked.Increment(ref _lastId).ToString(CultureInfo.InvariantCulture);
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[invocationId] = new Pending(connectionId, typeof(T),
            completion =>
            {
                if (completion.Error is { } error) result.TrySetException(new HubException(error));
                else result.TrySetResult((T)completion.Result!);
            },
            exception => result.TrySetException(exception));
        return (invocationId, result.Task);
    }

    public void Remove(string invocationId) => _pending.TryRemove(invocationId, out _);

    /// <summary>Completes the invocation the completion names, if <paramref name="connectionId"/> is the one it was sent to.</summary>
    public void Complete(string connectionId, CompletionMessage completion)
    {
        if (completion.InvocationId is not { } id || !_pending.TryGetValue(id, out var pending) || pending.ConnectionId != connectionId) return;
        if (_pending.TryRemove(id, out _)) pending.Complete(completion);
    }

    /// <summary>Fails every invocation still waiting on <paramref name="connectionId"/> (it disconnected).</summary>
    public void Disconnected(string connectionId)
    {
        foreach (var (id, pending) in _pending)
        {
            if (pending.ConnectionId == connectionId && _pending.TryRemove(id, out _)) pending.Fail(new IOException($"Connection '{connectionId}' disconnected."));
        }
    }

    public bool TryGetReturnType(string invocationId, [NotNullWhen(true)] out Type? type)
    {
        type = _pending.TryGetValue(invocationId, out var pending) ? pending.ResultType : null;
        return type is not null;
    }
}
