using System.Collections.Concurrent;
using Zgres.Client;

namespace Zgres.Tests.Infrastructure;

/// <summary>Collects what a subscription delivers and waits, with a timeout, until a condition holds.</summary>
public sealed class EventCollector
{
    private readonly ConcurrentQueue<ChangeEvent> _events = new();
    private readonly SemaphoreSlim _arrived = new(0);

    public IReadOnlyList<ChangeEvent> Events => _events.ToArray();

    public Task OnChange(ChangeEvent change)
    {
        _events.Enqueue(change);
        _arrived.Release();
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<ChangeEvent>> WaitForAsync(int count, TimeSpan? timeout = null) =>
        await WaitUntilAsync(() => _events.Count >= count, timeout ?? TimeSpan.FromSeconds(20), () => $"{count} events");

    /// <summary>Waits until <paramref name="condition"/> holds; on timeout the message says what was awaited (<paramref name="describe"/>, evaluated then) and what arrived.</summary>
    public Task<IReadOnlyList<ChangeEvent>> WaitUntilAsync(Func<IReadOnlyList<ChangeEvent>, bool> condition, TimeSpan timeout, Func<string> describe) =>
        WaitUntilAsync(() => condition(Events), timeout, describe);

    // Checked after every event: a count check must not copy everything that arrived (100,000 events make that quadratic).
    private async Task<IReadOnlyList<ChangeEvent>> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!condition())
        {
            try
            {
                await _arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0} s for {describe()}; got {Events.Count}: {string.Join(", ", Events.Take(200).Select(e => e.Id))}{(Events.Count > 200 ? ", …" : "")}");
            }
        }
        return Events;
    }

    /// <summary>Asserts that nothing more arrives within <paramref name="quiet"/>.</summary>
    public async Task AssertNoMoreAsync(int expected, TimeSpan quiet)
    {
        await Task.Delay(quiet);
        Assert.Equal(expected, Events.Count);
    }
}
