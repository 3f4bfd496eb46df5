using System.Diagnostics;

namespace Zgres.Bench.Measure;

/// <summary>A reading of every process that shares the machine in a run, and of the machine itself.</summary>
internal readonly record struct Snapshot(
    long Timestamp, double ServerCpu, long ServerRss, long ServerPeakRss, double PostgresCpu, double BenchCpu, long BenchRss,
    double MachineBusy, double MachineTotal)
{
    public double Seconds(Snapshot earlier) => Stopwatch.GetElapsedTime(earlier.Timestamp, Timestamp).TotalSeconds;

    /// <summary>Cores kept busy since <paramref name="earlier"/> by processes outside the run (other engineers' builds
    /// and tests): the machine's busy time less the server's, PostgreSQL's and this tool's. Near 0 on a quiet machine.</summary>
    public double OtherCores(Snapshot earlier)
    {
        var ours = Delta(ServerCpu, earlier.ServerCpu) + Delta(PostgresCpu, earlier.PostgresCpu) + Delta(BenchCpu, earlier.BenchCpu);
        return Math.Max(0, (MachineBusy - earlier.MachineBusy - ours) / Seconds(earlier));
    }

    private static double Delta(double now, double then) => double.IsNaN(now) || double.IsNaN(then) ? 0 : now - then;
}

/// <summary>Reads the server under test, the PostgreSQL cluster (when it is ours, so its postmaster is known) and this process.</summary>
internal sealed class Meters(int? serverPid, int? postmasterPid)
{
    public Snapshot Take()
    {
        var server = serverPid is int s ? ProcStats.Read(s) : null;
        var postgres = postmasterPid is int p ? ProcStats.ReadTree(p) : null;
        var bench = ProcStats.Read(Environment.ProcessId);
        var (busy, total) = ProcStats.ReadMachine();
        return new Snapshot(Stopwatch.GetTimestamp(),
            server?.CpuSeconds ?? double.NaN, server?.RssBytes ?? 0, server?.PeakRssBytes ?? 0,
            postgres?.CpuSeconds ?? double.NaN, bench?.CpuSeconds ?? double.NaN, bench?.RssBytes ?? 0, busy, total);
    }
}
