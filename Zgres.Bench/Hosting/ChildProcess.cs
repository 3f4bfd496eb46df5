using System.Diagnostics;
using System.Globalization;

namespace Zgres.Bench.Hosting;

/// <summary>A server under test (or a measured client) run as its own process, so its CPU time and memory can be read
/// from /proc; keeps its last output lines for error messages. A process started with an output reader also gets its
/// standard output lines one by one, and keeps its standard input open for <see cref="WriteLineAsync"/>.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptLines = 60;
    private readonly Process _process;
    private readonly Queue<string> _lines = new();
    private readonly string _name;

    private ChildProcess(string name, Process process)
    {
        _name = name;
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string RecentOutput
    {
        get { lock (_lines) return string.Join(Environment.NewLine, _lines); }
    }

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string? workingDirectory = null,
        Action<string>? readOutput = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) =>
        {
            child.Keep(e.Data);
            if (e.Data is not null) readOutput?.Invoke(e.Data);
        };
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // A server reads nothing from its input: closed, so that none waits on it.
        if (readOutput is null) process.StandardInput.Close();
        return child;
    }

    /// <summary>Writes a line to the process's standard input (kept open for processes started with an output reader).</summary>
    public async Task WriteLineAsync(string line, CancellationToken cancellationToken)
    {
        await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to exit by itself; true when it did.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_lines)
        {
            _lines.Enqueue(line);
            if (_lines.Count > KeptLines) _lines.Dequeue();
        }
    }

    /// <summary>Polls <paramref name="ready"/> every 200 ms until it holds; fails with the process's output when it exits first or time runs out.</summary>
    public async Task WaitUntilAsync(Func<CancellationToken, Task<bool>> ready, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{_name} exited with {_process.ExitCode} before it was ready:{Environment.NewLine}{RecentOutput}");
            if (await ready(cancellationToken)) return;
            await Task.Delay(200, cancellationToken);
        }
        throw new TimeoutException($"{_name} was not ready after {timeout.TotalSeconds:0} s:{Environment.NewLine}{RecentOutput}");
    }

    public bool SaidLine(string text)
    {
        lock (_lines) return _lines.Any(line => line.Contains(text, StringComparison.Ordinal));
    }

    /// <summary>SIGTERM, as an operator stops a server; SIGKILL after 30 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            if (!await WaitForExitAsync(TimeSpan.FromSeconds(30)))
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }
}
