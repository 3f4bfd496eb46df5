using System.Diagnostics;
using Zgres.Bench.Clients;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Hosting;

/// <summary>
/// The seed-node baseline: its folder copied to a temporary one, <c>npm install</c>ed, and <c>node server.js</c> run
/// with <c>PGURL</c>, <c>PORT</c> and <c>CHANNEL=seed_notifications</c>; rows go to <c>public.inputs_seed</c> through
/// the seed's own trigger, the stamp packed in its <c>value</c> column as <c>"seq:sent_us"</c>.
/// </summary>
internal sealed class SeedTarget(BenchDatabase database, string folder) : ITarget
{
    public BenchDatabase Database => database;

    private ChildProcess? _server;
    private Uri _address = new("http://127.0.0.1");

    /// <summary>The seed's column in every table.</summary>
    public const string BaselineName = "baseline";

    public string Name => BaselineName;

    public int? ServerPid => _server?.Pid;

    public bool SupportsTableSubscribers => false;

    public Task<ServerReading?> ReadServerAsync(CancellationToken cancellationToken) => Task.FromResult<ServerReading?>(null);

    /// <summary>The channel the seed's trigger notifies.</summary>
    public const string Channel = "seed_notifications";

    /// <summary>The seed's table, which its trigger watches.</summary>
    public const string Table = "public.inputs_seed";

    /// <summary>How rows are written to <see cref="Table"/> (also by <see cref="SignalRFloorTarget"/>'s writers).</summary>
    public static WriteStatements TableStatements { get; } = new(
        $"INSERT INTO {Table} (input_id, value) VALUES ($1, $2::text || ':' || $3::text)",
        $"INSERT INTO {Table} (input_id, value) SELECT i, s::text || ':' || t::text FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS u(i, s, t)",
        // The seed's rows carry "seq:sent_us" in value: rewrite it (the trigger publishes it either way).
        $"UPDATE {Table} SET value = value WHERE id BETWEEN $1 AND $2",
        WriteStatements.PrefillSql(Table, "input_id, value", "1 + (g % 1000), '0:0'"));

    public WriteStatements Statements => TableStatements;

    /// <summary>Finds <c>shared/peers/seed-node</c> beside the repository (or above the current folder).</summary>
    public static string? FindSource() =>
        RepositoryFiles.FindAbove(Path.Combine("shared", "peers", "seed-node", "server.js")) is { } server ? Path.GetDirectoryName(server) : null;

    /// <summary>Copies the seed to a temporary folder and installs its packages there (bounded to 5 minutes).</summary>
    public static async Task<string> PrepareAsync(string source, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(Path.GetTempPath(), "zgres-bench-seed-node");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        }
        Console.WriteLine($"Installing the seed's packages in {folder} (npm install)...");
        var start = new ProcessStartInfo("npm", ["install", "--no-audit", "--no-fund"])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var npm = Process.Start(start) ?? throw new InvalidOperationException("Could not start npm; install Node.js and npm.");
        var output = npm.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = npm.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await npm.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            npm.Kill(entireProcessTree: true);
            throw;
        }
        if (npm.ExitCode != 0) throw new InvalidOperationException($"npm install failed ({npm.ExitCode}): {await output}{await error}");
        return folder;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var port = Ports.FreeLoopbackPort();
        _address = new Uri($"http://127.0.0.1:{port}");
        _server = ChildProcess.Start("seed-node", "node", ["server.js"], new Dictionary<string, string>
        {
            ["PGURL"] = database.Url,
            ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CHANNEL"] = Channel,
        }, folder);
        var server = _server;
        await server.WaitUntilAsync(_ => Task.FromResult(server.SaidLine("seed peer listening")), TimeSpan.FromSeconds(60), cancellationToken);
    }

    public async Task<IBenchClient> ConnectAsync(Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken) =>
        await SeedSocketClient.ConnectAsync(_address, follow.InputId ?? throw new NotSupportedException("The seed has neither whole-table nor filtered subscriptions."), ledger, delivery, cancellationToken);

    public async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
