using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace Zgres.AspNetCore.Embedded;

/// <summary>
/// A private PostgreSQL cluster started from the machine's own server programs: a fresh data folder,
/// a free loopback port, a random password. Disposing it stops the server and removes the folder;
/// starting one first removes clusters left behind by processes that were killed.
/// </summary>
internal sealed class EmbeddedPostgres : IAsyncDisposable
{
    private const string OwnerFile = "owner.pid";
    private readonly string _binDirectory;
    private readonly IReadOnlyDictionary<string, string> _settings;

    private EmbeddedPostgres(string binDirectory, string runDirectory, int port, string password, IReadOnlyDictionary<string, string> settings)
    {
        _binDirectory = binDirectory;
        _settings = settings;
        RunDirectory = runDirectory;
        Port = port;
        Password = password;
    }

    /// <summary>The folder holding this cluster's data folder and log.</summary>
    public string RunDirectory { get; }

    public string DataDirectory => Path.Combine(RunDirectory, "data");

    public string LogFile => Path.Combine(RunDirectory, "postgres.log");

    public int Port { get; }

    public string Password { get; }

    /// <summary>An Npgsql connection string for the <c>postgres</c> superuser.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Password = Password,
        Database = "postgres",
    }.ConnectionString;

    /// <summary>The same database as a URL, for <c>psql "…"</c>.</summary>
    public string Url => $"postgresql://postgres:{Uri.EscapeDataString(Password)}@127.0.0.1:{Port}/postgres";

    /// <summary>Creates and starts a cluster under <paramref name="rootDirectory"/> (default: a <c>zgres-embedded</c>
    /// folder in the temporary folder, which the <c>postgres</c> user can reach when this process is root).</summary>
    /// <param name="settings">PostgreSQL settings that replace or add to this launcher's own (<see cref="EmbeddedOptions.Settings"/>).</param>
    public static async Task<EmbeddedPostgres> StartAsync(string? binDirectory = null, string? rootDirectory = null,
        IReadOnlyDictionary<string, string>? settings = null, CancellationToken cancellationToken = default)
    {
        settings ??= new Dictionary<string, string>();
        EmbeddedOptions.CheckSettings(settings);
        var bin = PostgresBinaries.Locate(binDirectory);
        var root = rootDirectory ?? DefaultRoot();
        Directory.CreateDirectory(root);
        if (ProcessRunner.RunningAsRoot && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        await RemoveAbandonedAsync(bin, root, cancellationToken);

        var run = Directory.CreateDirectory(Path.Combine(root, $"run-{Environment.ProcessId}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}")).FullName;
        await File.WriteAllTextAsync(Path.Combine(run, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), cancellationToken);
        var cluster = new EmbeddedPostgres(bin, run, FreeLoopbackPort(), RandomNumberGenerator.GetHexString(24, lowercase: true), settings);
        try
        {
            await cluster.InitializeAsync(cancellationToken);
            await cluster.StartServerAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static string DefaultRoot() =>
        // /root is closed to the postgres user, so as root the cluster lives under /tmp.
        Path.Combine(ProcessRunner.RunningAsRoot ? "/tmp" : Path.GetTempPath(), "zgres-embedded");

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(RunDirectory, "password");
        await File.WriteAllTextAsync(passwordFile, Password, cancellationToken);
        await ProcessRunner.GiveToPostgresUserAsync(RunDirectory, cancellationToken);
        await ProcessRunner.RunAsync(Tool("initdb"),
            ["-D", DataDirectory, "-U", "postgres", "--auth=scram-sha-256", $"--pwfile={passwordFile}",
             "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);
        File.Delete(passwordFile);
    }

    /// <summary>Stops the server and keeps its data, so that <see cref="StartServerAsync"/> can bring it back: a database
    /// outage, for tests.</summary>
    public Task StopServerAsync(string mode = "fast") => StopAsync(_binDirectory, DataDirectory, mode);

    /// <summary>Starts the server on its data folder and port, and waits until it accepts connections.</summary>
    public Task<string> StartServerAsync(CancellationToken cancellationToken = default) =>
        ProcessRunner.RunAsync(Tool("pg_ctl"),
            ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", ServerOptions()], cancellationToken);

    /// <summary>Restarts the server (<c>pg_ctl restart</c>) in the given shutdown mode: <c>fast</c> or <c>immediate</c>.</summary>
    public Task RestartAsync(string mode = "fast", CancellationToken cancellationToken = default) =>
        ProcessRunner.RunAsync(Tool("pg_ctl"),
            ["restart", "-D", DataDirectory, "-l", LogFile, "-m", mode, "-w", "-t", "60", "-o", ServerOptions()], cancellationToken);

    // Loopback TCP only (no socket file to collide with a system cluster); fsync off because this
    // cluster is thrown away at exit and an operating-system crash is not its concern (commits are
    // still synchronous, so a killed server loses nothing that was acknowledged).
    private string ServerOptions() =>
        $"-c listen_addresses=127.0.0.1 -c port={Port} -c unix_socket_directories='' -c fsync=off -c full_page_writes=off -c max_connections=200" +
        // Logical decoding, so that Zgres:Capture: Wal works out of the box (and the tests can run both modes).
        " -c wal_level=logical -c max_wal_senders=20 -c max_replication_slots=20" +
        // Later settings win: the configured ones go last.
        string.Concat(_settings.Select(setting => $" -c {setting.Key}={setting.Value}"));

    private string Tool(string name) => Path.Combine(_binDirectory, name);

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_binDirectory, DataDirectory, "fast");
        Directory.Delete(RunDirectory, recursive: true);
    }

    private static async Task StopAsync(string bin, string dataDirectory, string mode)
    {
        if (!PostmasterRuns(dataDirectory)) return;
        try
        {
            await ProcessRunner.RunAsync(Path.Combine(bin, "pg_ctl"), ["stop", "-D", dataDirectory, "-m", mode, "-w", "-t", "60"], CancellationToken.None);
        }
        catch (InvalidOperationException) when (!PostmasterRuns(dataDirectory))
        {
            // It stopped on its own meanwhile.
        }
    }

    /// <summary>Whether the postmaster named by the data folder's <c>postmaster.pid</c> still runs. A server killed
    /// with its owner (or by a machine's restart) leaves the file behind, and <c>pg_ctl stop</c> then fails.</summary>
    private static bool PostmasterRuns(string dataDirectory)
    {
        string firstLine;
        try
        {
            firstLine = File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).FirstOrDefault() ?? "";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        // A file caught while the postmaster writes it has no process id yet: it runs.
        return !int.TryParse(firstLine, CultureInfo.InvariantCulture, out var postmaster) || IsAlive(postmaster);
    }

    /// <summary>Stops and removes clusters whose owning process no longer runs (a server that was killed).</summary>
    private static async Task RemoveAbandonedAsync(string bin, string root, CancellationToken cancellationToken)
    {
        foreach (var run in Directory.GetDirectories(root, "run-*"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The folder's name carries its owner's process id too: one just created by a process starting at the same
            // moment has no owner file yet, and is not abandoned.
            var ownerFile = Path.Combine(run, OwnerFile);
            var named = Path.GetFileName(run).Split('-') is [_, var pid, ..] && int.TryParse(pid, CultureInfo.InvariantCulture, out var namedOwner) ? namedOwner : 0;
            if ((File.Exists(ownerFile)
                    && int.TryParse(await File.ReadAllTextAsync(ownerFile, cancellationToken), CultureInfo.InvariantCulture, out var owner)
                    && IsAlive(owner))
                || (named > 0 && IsAlive(named)))
            {
                continue;
            }
            try
            {
                await StopAsync(bin, Path.Combine(run, "data"), "immediate");
                Directory.Delete(run, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // Another process starting at the same moment removed it first.
            }
        }
    }

    private static bool IsAlive(int processId)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
