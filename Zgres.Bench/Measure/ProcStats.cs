using System.Globalization;

namespace Zgres.Bench.Measure;

/// <summary>One reading of a process (or process tree): CPU seconds used so far, resident and peak resident memory.</summary>
internal readonly record struct ProcessSample(double CpuSeconds, long RssBytes, long PeakRssBytes);

/// <summary>
/// Reads CPU time and memory from Linux's /proc: <c>/proc/PID/stat</c> utime+stime (clock ticks, 100 per second on
/// Linux), <c>/proc/PID/status</c> VmRSS and VmHWM (the peak), <c>/proc/stat</c> for the whole machine.
/// </summary>
internal static class ProcStats
{
    // USER_HZ: the kernel exports 100 ticks per second to user space on every architecture .NET runs on.
    private const double TicksPerSecond = 100.0;

    /// <summary>The process's own CPU and memory, or null once it has exited.</summary>
    public static ProcessSample? Read(int pid)
    {
        var stat = ReadStat(pid);
        if (stat is null) return null;
        var (rss, peak) = ReadMemory(pid);
        return new ProcessSample(stat.Value.Own, rss, peak);
    }

    /// <summary>
    /// A PostgreSQL cluster's CPU: the postmaster's own and reaped children's time, plus every live child's (backends,
    /// WAL writer, checkpointer...). Memory is the sum of the children's resident sets (shared buffers counted per
    /// process that touched them, so it over-states; it is reported for orientation only).
    /// </summary>
    public static ProcessSample? ReadTree(int rootPid)
    {
        // A child that exits and is reaped while /proc is walked moves its time into the postmaster's reaped-children
        // total: walk again (a few times at most) until that total did not change meanwhile, so none is missed or doubled.
        for (var attempt = 0; ; attempt++)
        {
            var root = ReadStat(rootPid);
            if (root is null) return null;
            var (cpu, rss) = SumChildren(rootPid);
            var again = ReadStat(rootPid);
            if (again is null) return null;
            if (again.Value.ReapedChildren == root.Value.ReapedChildren || attempt == 3)
            {
                return new ProcessSample(cpu + root.Value.Own + root.Value.ReapedChildren, rss + ReadMemory(rootPid).Rss, 0);
            }
        }
    }

    private static (double Cpu, long Rss) SumChildren(int rootPid)
    {
        double cpu = 0;
        long rss = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == rootPid) continue;
            var child = ReadStat(pid);
            if (child is not { } c || c.ParentPid != rootPid) continue;
            cpu += c.Own;
            rss += ReadMemory(pid).Rss;
        }
        return (cpu, rss);
    }

    /// <summary>Busy and total CPU seconds of the whole machine (all cores) since boot.</summary>
    public static (double Busy, double Total) ReadMachine()
    {
        using var reader = new StreamReader("/proc/stat");
        var fields = (reader.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...
        double total = 0, idle = 0;
        for (var i = 1; i < fields.Length && i <= 8; i++)
        {
            var value = double.Parse(fields[i], CultureInfo.InvariantCulture);
            total += value;
            if (i is 4 or 5) idle += value;
        }
        return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
    }

    /// <summary>The soft limit on open files of this process (sockets count), from /proc/self/limits.</summary>
    public static long OpenFilesLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields[0] == "unlimited" ? long.MaxValue : long.Parse(fields[0], CultureInfo.InvariantCulture);
        }
        return long.MaxValue;
    }

    private readonly record struct Stat(int ParentPid, double Own, double ReapedChildren);

    private static Stat? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // The command name (field 2) may hold spaces and parentheses: fields are counted after its closing one.
        var rest = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
        double Field(int number) => double.Parse(rest[number - 3], CultureInfo.InvariantCulture);
        return new Stat((int)Field(4), (Field(14) + Field(15)) / TicksPerSecond, (Field(16) + Field(17)) / TicksPerSecond);
    }

    private static (long Rss, long Peak) ReadMemory(int pid)
    {
        long rss = 0, peak = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Exited meanwhile.
        }
        return (rss, peak);
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
