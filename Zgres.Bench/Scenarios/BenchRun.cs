using System.Globalization;
using Zgres.Bench.Cli;
using Zgres.Bench.Hosting;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>One invocation: checks the machine's limits, starts PostgreSQL, runs the scenario for Zgres and the
/// baseline one after the other, prints the Markdown table and the goals, and cleans up whatever happens.</summary>
internal static class BenchRun
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        if (CheckLimits(options) is { } problem)
        {
            await Console.Error.WriteLineAsync(problem);
            return 2;
        }
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        var token = cancellation.Token;

        PrintMachine(options);
        string? seedFolder = null;
        string? seedSql = null;
        if (options.RunBaseline)
        {
            var source = options.SeedDirectory ?? SeedTarget.FindSource();
            if (source is null || !File.Exists(Path.Combine(source, "server.js")))
            {
                await Console.Error.WriteLineAsync("The seed-node baseline was not found (shared/peers/seed-node above this folder); pass --seed-dir or --only zgres.");
                return 2;
            }
            seedFolder = await SeedTarget.PrepareAsync(source, token);
            seedSql = await File.ReadAllTextAsync(Path.Combine(seedFolder, "seed-trigger.sql"), token);
        }

        Console.WriteLine(options.Connection is null ? "Starting an embedded PostgreSQL..." : "Using the PostgreSQL of --connection...");
        await using var database = await BenchDatabase.StartAsync(options.Connection, token);
        await database.PrepareAsync(seedSql, token);
        Console.WriteLine($"PostgreSQL: {database.Description}");

        var table = new ResultTable($"{BenchOptions.NameOf(options.Scenario)} ({options.Describe()})");
        var context = new BenchContext(options, database, table, token);
        // writes runs its Zgres servers on databases of their own (see WritesScenario).
        await using var zgres = new TargetList();
        if (options.RunZgres && options.Scenario is not (Scenario.Writes or Scenario.ReplayStorm or Scenario.SlowSnapshots))
        {
            foreach (var capture in options.Captures)
            {
                zgres.Add(await ZgresTarget.CreateAsync(database, capture, options, token));
                if (options.Carried) zgres.Add(await ZgresTarget.CreateAsync(database, capture, options, token, carried: true));
            }
            if (options.BeforeServerDll is not null && options.Scenario is Scenario.Saturation or Scenario.Latency or Scenario.Broadcast)
            {
                zgres.Add(await ZgresTarget.CreateBeforeAsync(database, options, token));
                table.Note($"{ZgresTarget.BeforeColumn}: {options.BeforeServerDll}; the others: {options.ServerDll}.");
            }
        }
        await using var floor = options.SignalRFloor ? new SignalRFloorTarget(database) : null;
        await using var baseline = seedFolder is not null ? new SeedTarget(database, seedFolder) : null;
        var targets = zgres.Concat(new ITarget?[] { floor, baseline }.OfType<ITarget>()).ToArray();
        switch (options.Scenario)
        {
            case Scenario.Writes:
                await WritesScenario.RunAsync(baseline, context);
                break;
            case Scenario.Filtered:
                await FilteredScenario.RunAsync(zgres[0], context);
                break;
            case Scenario.LiveView:
                await LiveViewScenario.RunAsync(zgres[0], context);
                break;
            case Scenario.ReplayStorm or Scenario.SlowSnapshots:
                await StormScenario.RunAsync(context);
                break;
            case Scenario.Idle:
                foreach (var target in targets) await IdleScenario.RunAsync(target, context);
                break;
            default:
                await DeliveryScenario.RunAsync(targets, context);
                break;
        }

        if (zgres.Count > 0 && options.Scenario != Scenario.LiveView)
        {
            table.Note($"Zgres clients: {options.ZgresClient.ToString().ToLowerInvariant()} (see --help){(floor is not null ? $"; {SignalRFloorTarget.ColumnName} clients: wire" : "")}{(baseline is not null ? "; baseline clients: ClientWebSocket" : "")}.");
        }
        Console.WriteLine();
        Console.WriteLine(table.ToMarkdown());
        foreach (var goal in Goals.Check(options, table)) Console.WriteLine($"goal: {goal}");
        return 0;
    }

    /// <summary>Every client is a socket in this process and one in the server: both need the open-files limit.</summary>
    private static string? CheckLimits(BenchOptions options)
    {
        if (options.Scenario == Scenario.Writes) return null;
        var sockets = (long)options.Clients + options.TableSubscribers + options.StormClients + 64;
        var limit = ProcStats.OpenFilesLimit();
        if (sockets + 512 > limit)
        {
            return $"{sockets:N0} client connections need an open-files limit above {sockets + 512:N0}, but this shell's is {limit:N0}. " +
                "Raise it in the shell that runs the bench (the servers inherit it), for example: ulimit -n 65535 " +
                "(as root, or up to the hard limit shown by ulimit -Hn), or use fewer --clients.";
        }
        var range = File.Exists("/proc/sys/net/ipv4/ip_local_port_range")
            ? File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            : [];
        if (range.Length == 2 && sockets > int.Parse(range[1], CultureInfo.InvariantCulture) - int.Parse(range[0], CultureInfo.InvariantCulture) - 1_000)
        {
            return $"{sockets:N0} connections from one loopback address would exhaust the ephemeral ports ({range[0]}-{range[1]}); use fewer --clients.";
        }
        return null;
    }

    private static void PrintMachine(BenchOptions options)
    {
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        Console.WriteLine($"zgres-bench {BenchOptions.NameOf(options.Scenario)} {options.Describe()}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {load}, open-files limit {ProcStats.OpenFilesLimit():N0}");
        var oneMinute = double.TryParse(load.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var l) ? l : 0;
        if (oneMinute >= 0.5)
        {
            Console.WriteLine($"warning: the machine is not quiet (1-minute load {oneMinute:0.00}); figures taken now are not comparable.");
        }
    }
}
