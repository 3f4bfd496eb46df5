using System.Text.RegularExpressions;

namespace Zgres.AspNetCore.Embedded;

/// <summary>The <c>Zgres:Embedded</c> section: where the embedded cluster comes from and lives.</summary>
public sealed class EmbeddedOptions
{
    /// <summary>The configuration section, <c>Zgres:Embedded</c>.</summary>
    public const string Section = "Zgres:Embedded";

    /// <summary>Folder of initdb/pg_ctl/postgres; default: PATH, then the distributions' usual folders.</summary>
    public string? BinDirectory { get; set; }

    /// <summary>Folder under which each run's cluster is created; default: <c>zgres-embedded</c> in the temporary folder.</summary>
    public string? RootDirectory { get; set; }

    /// <summary>PostgreSQL settings for the cluster, which replace or add to the launcher's own (for example
    /// <c>"shared_buffers": "256MB"</c>).</summary>
    public Dictionary<string, string> Settings { get; set; } = [];

    /// <summary>Refuses names and values that are not plain words: they reach <c>postgres</c> through pg_ctl's command line.</summary>
    internal static void CheckSettings(IReadOnlyDictionary<string, string> settings)
    {
        foreach (var (name, value) in settings)
        {
            if (!Regex.IsMatch(name, "^[a-z_][a-z0-9_.]*$") || !Regex.IsMatch(value, "^[A-Za-z0-9_.:/+-]+$"))
            {
                throw new InvalidOperationException(
                    $"{Section}:Settings: '{name}' = '{value}' is not a PostgreSQL setting this launcher passes on (names are lower-case words, values plain words or numbers).");
            }
        }
    }
}
