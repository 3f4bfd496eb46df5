using System.Diagnostics;
using Zgres.Bench.Clients;
using Zgres.Bench.Hosting;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>The clients of one phase: opened a bounded number at a time (so the servers' accept queues never
/// overflow), each with its own ledger; closed together at the end.</summary>
internal sealed class ClientFleet : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromMinutes(10);
    private const int Attempts = 3;
    private readonly List<IBenchClient> _clients = [];

    public List<ClientLedger> Ledgers { get; } = [];

    public TimeSpan ConnectTime { get; private set; }

    public int OpenCount => _clients.Count(c => c.IsOpen);

    public int Disconnects => Ledgers.Sum(l => l.Disconnects);

    /// <summary>Connects one client per entry of <paramref name="follows"/>.</summary>
    public static async Task<ClientFleet> ConnectAsync(ITarget target, IReadOnlyList<Follow> follows, int inputs, Delivery delivery,
        int parallelism, string label, CancellationToken cancellationToken)
    {
        var fleet = new ClientFleet();
        var started = Stopwatch.GetTimestamp();
        var connected = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await using (new Progress(() => $"[{label}] connecting: {Volatile.Read(ref connected)}/{follows.Count}"))
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, follows.Count), new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = timeout.Token },
                    async (index, ct) =>
                    {
                        var (client, ledger) = await ConnectWithRetryAsync(target, follows[index], inputs, delivery, ct);
                        lock (fleet._clients)
                        {
                            fleet._clients.Add(client);
                            fleet.Ledgers.Add(ledger);
                        }
                        Interlocked.Increment(ref connected);
                    });
            }
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
        fleet.ConnectTime = Stopwatch.GetElapsedTime(started);
        Console.WriteLine($"[{label}] {follows.Count} clients connected in {fleet.ConnectTime.TotalSeconds:0.0} s");
        return fleet;
    }

    private static async Task<(IBenchClient Client, ClientLedger Ledger)> ConnectWithRetryAsync(ITarget target, Follow follow, int inputs, Delivery delivery, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            // A fresh ledger per attempt: a failed attempt's closed socket is not a disconnect of the run.
            var ledger = new ClientLedger(follow, inputs);
            try
            {
                return (await target.ConnectAsync(follow, ledger, delivery, cancellationToken), ledger);
            }
            catch (Exception exception) when (attempt < Attempts && exception is not OperationCanceledException)
            {
                await Task.Delay(200 * attempt, cancellationToken);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        IBenchClient[] clients;
        lock (_clients)
        {
            clients = [.. _clients];
            _clients.Clear();
        }
        await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (client, _) => await client.DisposeAsync());
    }
}
