namespace Zgres.Server.Embedded;

/// <summary>The <c>Zgres:Embedded</c> section: where the embedded cluster comes from and lives.</summary>
public sealed class EmbeddedOptions
{
    public const string Section = "Zgres:Embedded";

    /// <summary>Folder of initdb/pg_ctl/postgres; default: PATH, then the distributions' usual folders.</summary>
    public string? BinDirectory { get; set; }

    /// <summary>Folder under which each run's cluster is created; default: <c>zgres-embedded</c> in the temporary folder.</summary>
    public string? RootDirectory { get; set; }
}
