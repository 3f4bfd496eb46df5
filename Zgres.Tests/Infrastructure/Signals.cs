using System.Diagnostics;
using System.Globalization;

namespace Zgres.Tests.Infrastructure;

/// <summary>Unix signals to other processes: SIGSTOP freezes a PostgreSQL backend without closing its socket.</summary>
public static class Signals
{
    public static async Task SendAsync(string signal, int processId)
    {
        using var kill = Process.Start("kill", [$"-{signal}", processId.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }
}
