using System.Reflection;

namespace Zgres.AspNetCore.Hosting;

/// <summary>The version of Zgres, as set once for every package in Directory.Build.props.</summary>
public static class ZgresVersion
{
    /// <summary>The version this server was built as, for example <c>0.1.0</c>.</summary>
    public static string Current { get; } =
        typeof(ZgresVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
