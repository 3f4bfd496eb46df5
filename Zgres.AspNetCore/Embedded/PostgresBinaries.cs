namespace Zgres.AspNetCore.Embedded;

/// <summary>Finds the machine's own PostgreSQL server programs (initdb, pg_ctl, postgres).</summary>
internal static class PostgresBinaries
{
    private static readonly string[] Required = ["initdb", "pg_ctl", "postgres"];

    /// <summary>The folder holding the server programs: <paramref name="configured"/> when given, else PATH,
    /// else the distributions' usual folders (newest version first).</summary>
    /// <exception cref="InvalidOperationException">No folder holds them; the message says how to install them.</exception>
    public static string Locate(string? configured = null)
    {
        var candidates = configured is { Length: > 0 }
            ? [configured]
            : SearchPath().Concat(DistributionFolders());
        return candidates.FirstOrDefault(HoldsServer) ?? throw new InvalidOperationException(
            "No PostgreSQL server programs (initdb, pg_ctl, postgres) were found on PATH or in the usual folders " +
            "(/usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, /usr/local/pgsql/bin, /opt/homebrew/bin). " +
            "Install them (Debian/Ubuntu: 'sudo apt-get install postgresql'; Fedora: 'sudo dnf install postgresql-server'; " +
            "macOS: 'brew install postgresql'), set Zgres:Embedded:BinDirectory, " +
            "or point ConnectionStrings:Postgres at an existing database.");
    }

    private static bool HoldsServer(string folder) => Required.All(program => File.Exists(Path.Combine(folder, program)));

    private static string[] SearchPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<string> DistributionFolders()
    {
        IEnumerable<string> Versioned(string root, string pattern, Func<string, string> bin) =>
            Directory.Exists(root)
                ? Directory.GetDirectories(root, pattern).OrderByDescending(VersionOf).Select(bin)
                : [];

        return Versioned("/usr/lib/postgresql", "*", d => Path.Combine(d, "bin"))
            .Concat(Versioned("/usr", "pgsql-*", d => Path.Combine(d, "bin")))
            .Concat(["/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin"]);
    }

    private static double VersionOf(string folder) =>
        double.TryParse(new string(Path.GetFileName(folder).SkipWhile(c => !char.IsDigit(c)).ToArray()),
            System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : 0;
}
