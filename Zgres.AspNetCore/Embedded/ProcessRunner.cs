using System.Diagnostics;

namespace Zgres.AspNetCore.Embedded;

/// <summary>Runs a PostgreSQL tool to completion, as the unprivileged <c>postgres</c> user when this process is root
/// (PostgreSQL refuses to run as root).</summary>
internal static class ProcessRunner
{
    public static bool RunningAsRoot => Environment.IsPrivilegedProcess;

    public static async Task<string> RunAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo
        {
            FileName = RunningAsRoot ? "runuser" : program,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (RunningAsRoot)
        {
            foreach (var prefix in new[] { "-u", "postgres", "--", program }) start.ArgumentList.Add(prefix);
        }
        foreach (var argument in arguments) start.ArgumentList.Add(argument);

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        process.StandardInput.Close();
        // Callers start the server with pg_ctl -l, so no child keeps these pipes open.
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var text = await output + await error;
        return process.ExitCode == 0
            ? text
            : throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {text.Trim()}");
    }

    public static async Task GiveToPostgresUserAsync(string path, CancellationToken cancellationToken)
    {
        if (!RunningAsRoot) return;
        using var chown = Process.Start("chown", ["-R", "postgres:", path]);
        await chown.WaitForExitAsync(cancellationToken);
        if (chown.ExitCode != 0) throw new InvalidOperationException($"chown -R postgres: {path} failed with {chown.ExitCode}.");
    }
}
