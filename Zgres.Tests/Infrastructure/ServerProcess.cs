using System.Diagnostics;
using System.Text;

namespace Zgres.Tests.Infrastructure;

/// <summary>The built server (Zgres.Server.dll) run as its own process, as an operator runs it: it can be stopped
/// with SIGTERM or killed outright.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _live = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the server on <paramref name="port"/> with the given environment and waits until it says it is live.</summary>
    public static async Task<ServerProcess> StartAsync(int port, IDictionary<string, string> environment)
    {
        var start = StartInfo([], environment);
        start.Environment["Urls"] = $"http://127.0.0.1:{port}";
        var server = new ServerProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var exited = server._process.WaitForExitAsync();
        if (await Task.WhenAny(server._live.Task, exited, Task.Delay(TimeSpan.FromSeconds(90))) != server._live.Task)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"The server did not come up:\n{server.Output}");
        }
        return server;
    }

    /// <summary>Runs one of the server's commands (<c>migrate</c>, <c>capture drop</c>) to its end; returns its exit code
    /// and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunCommandAsync(string[] arguments, IDictionary<string, string> environment)
    {
        using var process = Process.Start(StartInfo(arguments, environment))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        return (process.ExitCode, await output + await errors);
    }

    private static ProcessStartInfo StartInfo(string[] arguments, IDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Zgres.Server.dll"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in environment) start.Environment[key] = value;
        return start;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        if (line.Contains("Zgres is live", StringComparison.Ordinal)) _live.TrySetResult();
    }

    /// <summary>SIGTERM, as systemd or Ctrl+C would stop it; waits for the exit.</summary>
    public async Task StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>SIGKILL: no chance to clean up.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await StopAsync();
        _process.Dispose();
    }
}
