using System.Globalization;
using Zgres.Bench.Hosting;
using Zgres.AspNetCore.Hosting;

namespace Zgres.Bench.Cli;

/// <summary>The scenarios the tool runs.</summary>
internal enum Scenario { Saturation, Latency, Broadcast, Idle, Writes, Filtered, ReplayStorm, SlowSnapshots, LiveView }

/// <summary>What each writes transaction does.</summary>
internal enum WritesWorkload
{
    /// <summary>One 1-row INSERT.</summary>
    Row,

    /// <summary>One 50-row INSERT (<c>unnest</c>).</summary>
    Insert50,

    /// <summary>One UPDATE of 50 consecutive existing rows.</summary>
    Update50,
}

/// <summary>The command line: a scenario and options; every option has a per-scenario default.</summary>
internal sealed class BenchOptions
{
    public Scenario Scenario { get; private set; }

    public bool Help { get; private set; }

    public int Clients { get; private set; }

    public int TableSubscribers { get; private set; }

    public int Writers { get; private set; }

    public int Batch { get; private set; }

    /// <summary>Rows per second in total; null: as fast as the writers can.</summary>
    public double? Rate { get; private set; }

    public TimeSpan Duration { get; private set; }

    public TimeSpan Hold { get; private set; } = TimeSpan.FromSeconds(10);

    /// <summary>Writing before the measured window, so both servers' code is compiled (tiered JIT) and pools are warm.</summary>
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(10);

    public bool RunZgres { get; private set; } = true;

    public bool RunBaseline { get; private set; } = true;

    public string? Connection { get; private set; }

    public ZgresClientKind ZgresClient { get; private set; } = ZgresClientKind.Wire;

    public int ConnectParallelism { get; private set; } = 32;

    public string? SeedDirectory { get; private set; }

    public string ServerDll { get; private set; } = ZgresTarget.DefaultServerDll;

    /// <summary>writes: an earlier Zgres.Server.dll run as the "before" column, on its own database; null: no such column.</summary>
    public string? BeforeServerDll { get; private set; }

    /// <summary>How many times every column runs, interleaved (the goals read medians).</summary>
    public int Rounds { get; private set; } = 3;

    /// <summary>writes: the workloads measured in every column, in this order.</summary>
    public IReadOnlyList<WritesWorkload> Workloads { get; private set; } = Enum.GetValues<WritesWorkload>();

    /// <summary>replay-storm, slow-snapshots: the heavy readers started at once.</summary>
    public int StormClients { get; private set; }

    /// <summary>replay-storm, slow-snapshots: events in the log (and rows in the table) when a phase starts.</summary>
    public int LogEvents { get; private set; } = 200_000;

    /// <summary>live-view: rows in the table when each consumer opens its view or subscription.</summary>
    public int Rows { get; private set; } = 100_000;

    /// <summary>slow-snapshots: bytes per second each snapshot reader reads.</summary>
    public int ReadRate { get; private set; } = 64 * 1024;

    /// <summary>How each Zgres server captures changes: one Zgres column (writes) or run (the other scenarios) per mode,
    /// side by side in one invocation.</summary>
    public IReadOnlyList<CaptureMode> Captures { get; private set; } = [CaptureMode.Trigger];

    /// <summary>Also run a trigger-capture Zgres whose listener takes events from their notifications (the delivery scenarios).</summary>
    public bool Carried { get; private set; }

    /// <summary>Also run the seed's design on a bare SignalR hub, the "SignalR floor" column (the delivery scenarios).</summary>
    public bool SignalRFloor { get; private set; }

    /// <summary>Extra environment for the Zgres server process (experiments such as runtime knobs); empty by default.</summary>
    public Dictionary<string, string> ZgresEnvironment { get; } = [];

    public static string HelpText => """
        Zgres.Bench: Zgres and the seed-node baseline side by side, on one PostgreSQL, in one invocation.

        usage: dotnet run -c Release --project Zgres.Bench -- <scenario> [options]

        scenarios (defaults in brackets):
          saturation   inserts as fast as the writers can; each client follows its own input_id
                       [--clients 2000 --writers 4 --batch 50 --duration 30]
          latency      a fixed rate spread over the clients' inputs
                       [--clients 2000 --rate 2000 --writers 2 --batch 10 --duration 30]
          broadcast    every client receives every row: Zgres clients follow the whole table, the baseline's
                       (which has no table subscription) all follow one input_id
                       [--clients 500 --rate 200 --writers 1 --batch 1 --duration 30]
          idle         connections held open: server memory per connection, then one row per connection to
                       prove each is live [--clients 10000 --hold 10]
          writes       pgbench-style write rate (rows changed/s) into a table without trigger, with the seed's
                       trigger, with an earlier Zgres's (--before-server-dll) and with this Zgres's, each trigger's
                       server listening (no clients); the columns run in interleaved rounds and the table shows
                       each one's median and its ratio to no trigger
                       [--writers 4 --duration 8 --warmup 3 --rounds 3 --workloads row,insert50,update50]
          filtered     Zgres only (issue 12, live queries): what a filter costs per delivered event. Rows get a
                       random region (a column that is not the input column) among as many regions as clients;
                       "input subscriptions" connects N clients each on its own input_id, "filtered" N clients
                       each with filter [{ column: "region", op: "eq", value: k }], so in both each event reaches
                       about one client. The same writers and rate in both, in alternating rounds (each with its
                       own server start and warm-up); the table shows medians and the median of the rounds'
                       ratios filtered ÷ input of server CPU per delivered event
                       [--clients 2000 --rate 3000 --writers 2 --batch 10 --duration 20 --warmup 5 --rounds 3]
          replay-storm Zgres only (issue 19): whether heavy readers starve anyone. A fresh log of --log-events
                       events (planner statistics of an empty log); live clients on their inputs at --rate; probes
                       time a new connection's Subscribe, /healthz and /healthz/ready throughout; after a quiet
                       window, --storm-clients clients each resume the whole table from after 0 and read nothing
                       (cut clients come back and do it again); then a recovery window. With
                       --before-server-dll an earlier build runs the same phases in interleaved rounds
                       [--clients 200 --rate 200 --storm-clients 150 --log-events 200000 --duration 30 --warmup 5
                        --rounds 1]
          slow-snapshots as replay-storm, but each storm client takes a snapshot of one of 4 inputs (a quarter of
                       the log's rows each) and reads it at --read-rate bytes/s: slowly, never stalled
                       [--clients 200 --rate 200 --storm-clients 110 --log-events 200000 --read-rate 65536
                        --duration 30 --warmup 5 --rounds 1]
          live-view    Zgres only (issue 20): a consumer process holds all --rows rows of the table and keeps them
                       current, four ways side by side: .NET ZgresClient.LiveQueryAsync<TRow> and a plain
                       SubscribeAsync<TRow> (snapshot: true) applying events into a Dictionary, and Node's
                       @zgres/client liveQuery() and subscribe(..., { snapshot: true }) into a Map. Each phase starts
                       its consumer process (Node with --expose-gc) and measures: time to ready (the call to the
                       snapshot's last row in place), memory after ready (.NET GC heap after a full collection,
                       Node heapUsed after gc(); RSS from /proc), then half the writers insert rows and half update
                       existing ones for --duration s (as fast as they can, or --rate in total): events applied/s
                       (every event written, over the time from the first write until the consumer applied the
                       last), the lag after the last commit, and the consumer's CPU per event; at the end its rows
                       are checked against SELECT. Phases in interleaved rounds, medians; the table is cut back to
                       --rows rows (triggers off) before each phase. Needs npm ci in Zgres.Client.Js
                       [--rows 100000 --writers 2 --batch 10 --duration 10 --warmup 3 --rounds 3]

        options:
          --clients N              client connections, one input_id each (broadcast: all on the table/one input)
          --table-subscribers M    extra Zgres clients following the whole table (saturation, latency) [0]
          --writers W              writer connections (one INSERT per transaction)
          --batch B                rows per INSERT (INSERT ... SELECT FROM unnest(...)); writes: see --workloads
          --rate R                 rows per second in total; omit for as fast as possible
          --duration S             seconds of writing (then the tool waits for delivery to drain)
          --warmup S               seconds of the same load before the measured window (JIT, pools) [10;
                                   writes: 3, before each workload]
          --hold S                 idle: seconds the connections are held before memory is read [10]
          --only zgres|baseline    run one side only
          --connection CS          use this PostgreSQL (Npgsql connection string) instead of an embedded one
                                   (PostgreSQL's CPU is then not measured)
          --zgres-client KIND      wire: SignalR JSON over a bare WebSocket (default; costs the bench what the
                                   baseline's WebSocket client costs); hub: HubConnection; typed: ZgresClient
          --connect-parallelism P  connections opened at once [32]
          --seed-dir DIR           the seed-node folder [found as shared/peers/seed-node above this folder]
          --server-dll PATH        Zgres.Server.dll to run [the Release build copied beside this tool]
          --capture LIST           how Zgres captures changes, comma-separated: trigger, wal (logical decoding; a
                                   database of its own, zgres_bench_wal, dropped and created anew). Each mode is
                                   its own Zgres column (writes) or run, in the same invocation [trigger]
          --carried on|off         delivery scenarios: also run Zgres with a listener that takes events from their
                                   notifications (Zgres:Listener:EventsInNotifications=true), once per --capture mode:
                                   "Zgres (carried)", "Zgres (WAL, carried)" [off]
          --signalr-floor on|off   saturation, latency, broadcast: also run the seed's design on a bare SignalR hub
                                   ("SignalR floor": this tool as its own process with the Zgres server's runtime
                                   settings, LISTEN on the seed's channel, each payload sent to its input's group;
                                   the seed's table and trigger, wire clients): what SignalR itself costs here.
                                   Needs the baseline's trigger, so not with --only zgres [off]
          --zgres-env KEY=VALUE    extra environment for the Zgres server (repeatable), for experiments only
          --before-server-dll PATH writes, storms, saturation, latency, broadcast: an earlier Zgres.Server.dll (say,
                                   built from an older commit) for the "Zgres v1 (before)" column (delivery scenarios:
                                   "Zgres (before)", by triggers); without it that column is skipped. Each Zgres column
                                   gets its own database (zgres_bench_v1, zgres_bench_v2, zgres_bench_before: dropped
                                   and created anew), which its server migrates to its own schema version
          --rounds N               interleaved rounds of all columns, each phase with its own server start (not
                                   idle); each cell of saturation, latency and broadcast lists the rounds, and the
                                   goals read their medians [3; saturation, latency, broadcast, storms 1]
          --storm-clients N        replay-storm, slow-snapshots: heavy readers at once
          --log-events N           replay-storm, slow-snapshots: events in the log when a phase starts
          --read-rate B            slow-snapshots: bytes per second each snapshot reader reads
          --rows N                 live-view: rows in the table when each phase opens its view (above 100,000 the
                                   server's Zgres:Limits:MaxSnapshotRows is raised to N)
          --workloads LIST         writes: comma-separated, of row (1-row INSERT per transaction), insert50 (one
                                   50-row INSERT), update50 (one UPDATE of 50 rows among 100,000 prefilled, each
                                   writer in its own id range) [row,insert50,update50]
          --help                   this text

        Needs PostgreSQL's server programs (initdb, pg_ctl) unless --connection is given, Node.js and npm for the
        baseline, and an open-files limit above the client count (ulimit -n).
        """;

    public static BenchOptions? Parse(string[] args, out string? error)
    {
        error = null;
        var options = new BenchOptions();
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            options.Help = true;
            return options;
        }
        var scenario = Enum.GetValues<Scenario>().Where(s => string.Equals(NameOf(s), args[0], StringComparison.OrdinalIgnoreCase)).Cast<Scenario?>().FirstOrDefault();
        if (scenario is null)
        {
            error = $"Unknown scenario '{args[0]}'; one of: {string.Join(", ", Enum.GetValues<Scenario>().Select(NameOf))}.";
            return null;
        }
        options.ApplyDefaults(scenario.Value);
        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                options.Help = true;
                continue;
            }
            if (i + 1 >= args.Length)
            {
                error = $"Option {name} needs a value.";
                return null;
            }
            var value = args[++i];
            error = options.Set(name, value);
            if (error is not null) return null;
        }
        if (options.Scenario is Scenario.Filtered or Scenario.ReplayStorm or Scenario.SlowSnapshots or Scenario.LiveView && !options.RunZgres)
        {
            error = $"{NameOf(options.Scenario)} measures Zgres only (the baseline has no filters, replays or snapshots).";
            return null;
        }
        if (options.SignalRFloor && (!options.RunBaseline || options.Scenario is not (Scenario.Saturation or Scenario.Latency or Scenario.Broadcast)))
        {
            error = "--signalr-floor runs in saturation, latency and broadcast, on the baseline's table and trigger (not with --only zgres).";
            return null;
        }
        if (options.Scenario == Scenario.LiveView && options.Rows > DefaultMaxSnapshotRows)
        {
            options.ZgresEnvironment.TryAdd("Zgres__Limits__MaxSnapshotRows", options.Rows.ToString(CultureInfo.InvariantCulture));
        }
        return options;
    }

    /// <summary>The server's default <c>Zgres:Limits:MaxSnapshotRows</c>.</summary>
    private const int DefaultMaxSnapshotRows = 100_000;

    private void ApplyDefaults(Scenario scenario)
    {
        Scenario = scenario;
        (Clients, Writers, Batch, Rate, Duration) = scenario switch
        {
            Scenario.Saturation => (2_000, 4, 50, (double?)null, TimeSpan.FromSeconds(30)),
            Scenario.Latency => (2_000, 2, 10, 2_000, TimeSpan.FromSeconds(30)),
            Scenario.Broadcast => (500, 1, 1, 200, TimeSpan.FromSeconds(30)),
            Scenario.Idle => (10_000, 1, 1_000, null, TimeSpan.Zero),
            Scenario.Filtered => (2_000, 2, 10, 3_000, TimeSpan.FromSeconds(20)),
            Scenario.ReplayStorm or Scenario.SlowSnapshots => (200, 1, 1, 200, TimeSpan.FromSeconds(30)),
            Scenario.LiveView => (1, 2, 10, null, TimeSpan.FromSeconds(10)),
            _ => (0, 4, 1, null, TimeSpan.FromSeconds(8)),
        };
        if (scenario is Scenario.Saturation or Scenario.Latency or Scenario.Broadcast) Rounds = 1;
        if (scenario is Scenario.ReplayStorm or Scenario.SlowSnapshots)
        {
            StormClients = scenario == Scenario.ReplayStorm ? 150 : 110;
            Warmup = TimeSpan.FromSeconds(5);
            Rounds = 1;
            RunBaseline = false;
        }
        if (scenario == Scenario.Writes) Warmup = TimeSpan.FromSeconds(3);
        if (scenario == Scenario.LiveView)
        {
            Warmup = TimeSpan.FromSeconds(3);
            RunBaseline = false;
        }
        if (scenario == Scenario.Filtered)
        {
            Warmup = TimeSpan.FromSeconds(5);
            RunBaseline = false;
        }
    }

    private string? Set(string name, string value)
    {
        static bool Positive(string text, out int number) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number > 0;

        switch (name)
        {
            case "--clients" when Positive(value, out var n): Clients = n; break;
            case "--table-subscribers" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var m): TableSubscribers = m; break;
            case "--writers" when Positive(value, out var w): Writers = w; break;
            case "--batch" when Positive(value, out var b): Batch = b; break;
            case "--rate" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r > 0: Rate = r; break;
            case "--duration" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d is > 0 and <= 3600: Duration = TimeSpan.FromSeconds(d); break;
            case "--warmup" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var u) && u is >= 0 and <= 600: Warmup = TimeSpan.FromSeconds(u); break;
            case "--hold" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var h) && h is >= 0 and <= 3600: Hold = TimeSpan.FromSeconds(h); break;
            case "--only" when value is "zgres" or "baseline":
                RunZgres = value == "zgres";
                RunBaseline = value == "baseline";
                break;
            case "--connection": Connection = value; break;
            case "--zgres-client" when Enum.TryParse<ZgresClientKind>(value, ignoreCase: true, out var kind) && Enum.IsDefined(kind) && !char.IsDigit(value[0]): ZgresClient = kind; break;
            case "--connect-parallelism" when Positive(value, out var p): ConnectParallelism = p; break;
            case "--seed-dir": SeedDirectory = value; break;
            case "--server-dll": ServerDll = Path.GetFullPath(value); break;
            case "--before-server-dll" when File.Exists(value): BeforeServerDll = Path.GetFullPath(value); break;
            case "--before-server-dll": return $"--before-server-dll: {value} does not exist.";
            case "--rounds" when Positive(value, out var rounds): Rounds = rounds; break;
            case "--storm-clients" when Positive(value, out var storm): StormClients = storm; break;
            case "--log-events" when Positive(value, out var events): LogEvents = events; break;
            case "--read-rate" when Positive(value, out var readRate): ReadRate = readRate; break;
            case "--rows" when Positive(value, out var rows): Rows = rows; break;
            case "--workloads" when ParseWorkloads(value) is { } workloads: Workloads = workloads; break;
            case "--capture" when ParseList<CaptureMode>(value) is { } captures: Captures = captures; break;
            case "--carried" when value is "on" or "off": Carried = value == "on"; break;
            case "--signalr-floor" when value is "on" or "off": SignalRFloor = value == "on"; break;
            case "--zgres-env" when value.IndexOf('=', StringComparison.Ordinal) > 0:
                ZgresEnvironment[value[..value.IndexOf('=', StringComparison.Ordinal)]] = value[(value.IndexOf('=', StringComparison.Ordinal) + 1)..];
                break;
            default:
                return $"Bad option or value: {name} {value}";
        }
        return null;
    }

    private static WritesWorkload[]? ParseWorkloads(string list) => ParseList<WritesWorkload>(list);

    /// <summary>Distinct known names of <typeparamref name="T"/>, in the order given; null when any is unknown or none is given.</summary>
    private static T[]? ParseList<T>(string list) where T : struct, Enum
    {
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new List<T>();
        foreach (var name in names)
        {
            if (!Enum.TryParse<T>(name, ignoreCase: true, out var value) || !Enum.IsDefined(value) || char.IsDigit(name[0])) return null;
            if (!values.Contains(value)) values.Add(value);
        }
        return values.Count > 0 ? [.. values] : null;
    }

    /// <summary>The name of a scenario on the command line and in the table: lower case, words joined by a hyphen.</summary>
    public static string NameOf(Scenario scenario) => scenario switch
    {
        Scenario.ReplayStorm => "replay-storm",
        Scenario.SlowSnapshots => "slow-snapshots",
        Scenario.LiveView => "live-view",
        _ => scenario.ToString().ToLowerInvariant(),
    };

    /// <summary>The name of a writes workload on the command line and in the table.</summary>
    public static string NameOf(WritesWorkload workload) => workload.ToString().ToLowerInvariant();

    /// <summary>The options as given, for the report.</summary>
    public string Describe() => Scenario switch
    {
        Scenario.Idle => FormattableString.Invariant($"--clients {Clients} --hold {Hold.TotalSeconds:0.#}"),
        Scenario.Writes => FormattableString.Invariant($"--writers {Writers} --duration {Duration.TotalSeconds:0.#} --warmup {Warmup.TotalSeconds:0.#} --rounds {Rounds} --workloads {string.Join(',', Workloads.Select(NameOf))}") + DescribeCaptures(),
        Scenario.Filtered => DescribeDelivery() + FormattableString.Invariant($" --rounds {Rounds}"),
        Scenario.ReplayStorm or Scenario.SlowSnapshots => FormattableString.Invariant(
            $"--clients {Clients} --rate {Rate:0.#} --storm-clients {StormClients} --log-events {LogEvents}{(Scenario == Scenario.SlowSnapshots ? $" --read-rate {ReadRate}" : "")} --duration {Duration.TotalSeconds:0.#} --warmup {Warmup.TotalSeconds:0.#} --rounds {Rounds}") + DescribeEnvironment(),
        Scenario.LiveView => FormattableString.Invariant(
            $"--rows {Rows} --writers {Writers} --batch {Batch}{(Rate is double rate ? $" --rate {rate:0.#}" : "")} --duration {Duration.TotalSeconds:0.#} --warmup {Warmup.TotalSeconds:0.#} --rounds {Rounds}") + DescribeEnvironment(),
        _ => DescribeDelivery(),
    };

    private string DescribeEnvironment() => string.Concat(ZgresEnvironment.Select(e => $" --zgres-env {e.Key}={e.Value}"));

    private string DescribeCaptures() => (Captures is [CaptureMode.Trigger] ? "" : $" --capture {string.Join(',', Captures.Select(c => c.ToString().ToLowerInvariant()))}") + (Carried ? " --carried on" : "");

    /// <summary>The options of the scenarios that deliver rows to clients.</summary>
    private string DescribeDelivery() => FormattableString.Invariant($"--clients {Clients}{(TableSubscribers > 0 ? $" --table-subscribers {TableSubscribers}" : "")} --writers {Writers} --batch {Batch}{(Rate is double r ? $" --rate {r:0.#}" : "")} --duration {Duration.TotalSeconds:0.#} --warmup {Warmup.TotalSeconds:0.#} --zgres-client {ZgresClient.ToString().ToLowerInvariant()}") + DescribeEnvironment() + DescribeCaptures() + (SignalRFloor ? " --signalr-floor on" : "");
}
