namespace Zgres.AspNetCore.Hosting;

/// <summary>The name of Zgres's <see cref="System.Diagnostics.Metrics.Meter"/>, for a host app's own OpenTelemetry or
/// <c>dotnet-counters</c> (<c>--counters Zgres</c>); its instruments are named <c>zgres.*</c> (listed in the README).</summary>
public static class ZgresMeter
{
    /// <summary><c>Zgres</c>.</summary>
    public const string Name = "Zgres";
}
