namespace Zgres.AspNetCore.Hosting;

/// <summary>The server's command line, as <c>zgres</c> and <c>Zgres.Server</c> take it: commands are words, everything
/// else is ASP.NET Core configuration (<c>--urls URL</c>, <c>--Zgres:Capture=Wal</c>), which the host reads itself.</summary>
internal static class CommandLine
{
    public static bool AsksForHelp(string[] args) => args.Any(arg => arg is "--help" or "-h" or "-?");

    public static bool AsksForVersion(string[] args) => args.Contains("--version");

    /// <summary>The words of a command (<c>migrate 202611250002</c>), without the configuration switches and their values,
    /// read as the configuration's command-line provider reads them: <c>--key value</c> or <c>--key=value</c>.</summary>
    public static string[] Words(string[] args)
    {
        var words = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (!arg.Contains('=', StringComparison.Ordinal)) i++;
            }
            else if (!arg.StartsWith('-'))
            {
                words.Add(arg);
            }
        }
        return [.. words];
    }

    public static string Usage => $"""
        zgres {ZgresVersion.Current}: streams PostgreSQL row changes to live clients over SignalR (hub at /hubs/changes).

        Usage:
          zgres [settings]                   run the server. With no ConnectionStrings:Postgres it starts its own
                                             PostgreSQL (the machine's server programs), creates and watches the demo
                                             table public.inputs, serves the demo page and prints a psql line for it
          zgres migrate [VERSION] [settings] apply the migrations, or migrate up or down to VERSION, and exit
          zgres capture drop [settings]      remove capture from the WAL (replication slot and publication) and exit
          zgres --version                    print the version
          zgres --help                       print this help

        Settings are ASP.NET Core configuration, given as --Key=Value (or --Key Value), as environment variables
        (Key__Sub=Value) or in appsettings.json beside the program. The main ones:
          --urls URL[;URL]                   where to listen (default http://localhost:5080, loopback only)
          --ConnectionStrings:Postgres=CS    the database to watch (Host=...;Database=...;Username=...;Password=...)
          --Zgres:Tables:0:Name=TABLE        a table to watch (schema.table), with :InputColumn=COLUMN and :Columns:0=...
          --Zgres:Capture=Wal                capture from the write-ahead log instead of triggers
          --Zgres:DemoPage=false             do not serve the demo page
          --Zgres:Auth:Jwt:Authority=URL     require sign-in (or :SigningKey=KEY); --Zgres:AllowedOrigins:0=ORIGIN
        Every setting is described in the README, section "Settings".
        """;
}
