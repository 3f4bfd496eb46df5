using FluentMigrator.Runner.VersionTableInfo;

namespace Zgres.Migrations;

/// <summary>
/// Keeps FluentMigrator's version table in Zgres's own schema, so it never collides with the
/// migrations of the application that owns the database.
/// </summary>
public sealed class ZgresVersionTable : IVersionTableMetaData
{
    public const string Schema = "zgres";

    public bool OwnsSchema => true;
    public string SchemaName => Schema;
    public string TableName => "schema_version";
    public string ColumnName => "version";
    public string DescriptionColumnName => "description";
    public string UniqueIndexName => "schema_version_version";
    public string AppliedOnColumnName => "applied_on";
    public bool CreateWithPrimaryKey => false;
}
