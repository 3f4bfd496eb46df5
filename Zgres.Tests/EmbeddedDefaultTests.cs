using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Npgsql;
using Zgres.Client;
using Zgres.AspNetCore.Embedded;
using Zgres.AspNetCore.Hosting;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>`dotnet run --project Zgres.Server` with no connection string: a private PostgreSQL, the demo table, and a clean exit.</summary>
public sealed class EmbeddedDefaultTests
{
    [Theory]
    [InlineData("Trigger")]
    [InlineData("Wal")]
    public async Task With_no_connection_string_the_server_runs_its_own_database_with_the_demo_table_and_on_sigterm_tells_clients_then_stops_it(string capture)
    {
        var root = Directory.CreateTempSubdirectory("zgres-embedded-test-").FullName;
        var server = await ServerProcess.StartAsync(ZgresTestServer.FreePort(), new Dictionary<string, string>
        {
            ["Zgres__Embedded__RootDirectory"] = root,
            ["Zgres__Capture"] = capture,
        });
        try
        {
            Assert.Contains($"Zgres is live (version {ZgresVersion.Current}): open {server.Address}", server.Output, StringComparison.Ordinal);
            var psql = server.Output.Split('\n').Select(line => line.Trim()).Single(line => line.Contains("psql \"postgresql://", StringComparison.Ordinal));
            var url = new Uri(psql[(psql.IndexOf('"', StringComparison.Ordinal) + 1)..psql.LastIndexOf('"')]);
            using var http = new HttpClient { BaseAddress = server.Address };
            var tables = await http.GetFromJsonAsync<ExposedTable[]>("/api/tables");
            Assert.Equal(["public.inputs"], tables!.Select(t => t.Name));
            Assert.Contains("<html", await http.GetStringAsync("/"), StringComparison.OrdinalIgnoreCase);

            await using var client = new ZgresClient(server.Address);
            await client.StartAsync();
            var received = new EventCollector();
            await using var subscription = await client.SubscribeAsync("inputs", inputId: "42", received.OnChange);
            await using (var connection = new NpgsqlConnection(ToConnectionString(url)))
            {
                await connection.OpenAsync();
                await using var insert = new NpgsqlCommand("INSERT INTO inputs (input_id, value) VALUES (42, 'hello')", connection);
                await insert.ExecuteNonQueryAsync();
            }
            Assert.Equal("hello", (await received.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
            Assert.Equal(capture == "Wal", server.Output.Contains("Holding the replication slot zgres", StringComparison.Ordinal));
            Assert.Single(Directory.GetDirectories(root, "run-*"));
        }
        finally
        {
            await server.StopAsync();
        }

        Assert.Empty(Directory.GetDirectories(root, "run-*"));
        // The stop is logged step by step, and done only once the database is.
        var log = server.Output;
        var told = log.IndexOf("Stopping: refusing new requests", StringComparison.Ordinal);
        var databaseStopped = log.IndexOf("Embedded PostgreSQL stopped and removed", StringComparison.Ordinal);
        var done = log.IndexOf("Stopped in ", StringComparison.Ordinal);
        Assert.True(told >= 0 && databaseStopped > told && done > databaseStopped, log);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task A_database_left_running_by_a_killed_server_is_stopped_and_removed_by_the_next_start()
    {
        var root = Directory.CreateTempSubdirectory("zgres-embedded-test-").FullName;
        var environment = new Dictionary<string, string> { ["Zgres__Embedded__RootDirectory"] = root };
        var killed = await ServerProcess.StartAsync(ZgresTestServer.FreePort(), environment);
        await killed.KillAsync();
        var abandoned = Assert.Single(Directory.GetDirectories(root, "run-*"));
        Assert.True(File.Exists(Path.Combine(abandoned, "data", "postmaster.pid")));

        await using (await ServerProcess.StartAsync(ZgresTestServer.FreePort(), environment))
        {
            Assert.False(Directory.Exists(abandoned));
        }

        Assert.Empty(Directory.GetDirectories(root, "run-*"));
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task A_database_whose_server_died_with_its_owner_is_removed_by_the_next_start_which_then_serves()
    {
        // What a machine's restart, or a kill of the whole process group, leaves behind: a run folder whose owner and
        // postmaster are both gone, with the postmaster's pid file still there.
        var root = Directory.CreateTempSubdirectory("zgres-embedded-test-").FullName;
        var crashed = await EmbeddedPostgres.StartAsync(rootDirectory: root);
        var postmaster = int.Parse(File.ReadLines(Path.Combine(crashed.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        using (var process = Process.GetProcessById(postmaster))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        var abandoned = Path.Combine(root, $"run-{int.MaxValue}-crashed");
        Directory.Move(crashed.RunDirectory, abandoned);
        await File.WriteAllTextAsync(Path.Combine(abandoned, "owner.pid"), int.MaxValue.ToString(CultureInfo.InvariantCulture));
        Assert.True(File.Exists(Path.Combine(abandoned, "data", "postmaster.pid")));

        await using (var next = await EmbeddedPostgres.StartAsync(rootDirectory: root))
        {
            Assert.False(Directory.Exists(abandoned));
            await using var connection = new NpgsqlConnection(next.ConnectionString);
            await connection.OpenAsync();
            await using var select = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await select.ExecuteScalarAsync());
        }

        Assert.Empty(Directory.GetDirectories(root, "run-*"));
        Directory.Delete(root, recursive: true);
    }

    private static string ToConnectionString(Uri url)
    {
        var credentials = url.UserInfo.Split(':');
        return new NpgsqlConnectionStringBuilder
        {
            Host = url.Host,
            Port = url.Port,
            Username = credentials[0],
            Password = Uri.UnescapeDataString(credentials[1]),
            Database = url.AbsolutePath.TrimStart('/'),
            Pooling = false,
        }.ConnectionString;
    }
}
