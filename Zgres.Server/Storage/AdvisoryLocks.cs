namespace Zgres.Server.Storage;

/// <summary>Advisory lock keys, so several instances starting at once take turns at changing the schema.</summary>
internal static class AdvisoryLocks
{
    /// <summary>Held while migrating and while attaching triggers ("zgres" in ASCII).</summary>
    public const long SchemaChange = 0x7A_67_72_65_73;
}
