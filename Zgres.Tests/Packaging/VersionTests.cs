using System.Reflection;
using System.Text.Json;
using System.Xml.Linq;
using Zgres.Client;
using Zgres.AspNetCore.Hosting;

namespace Zgres.Tests.Packaging;

/// <summary>One version for every package, set once in Directory.Build.props.</summary>
public sealed class VersionTests
{
    [Fact]
    public void The_server_the_dotnet_client_and_the_npm_package_carry_the_version_set_in_the_build_props()
    {
        var props = XDocument.Load(Repository.PathOf("Directory.Build.props"));
        var version = props.Descendants("VersionPrefix").Single().Value;
        using var packageJson = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("Zgres.Client.Js", "package.json")));

        Assert.Equal(version, ZgresVersion.Current);
        Assert.Equal(version, typeof(ZgresClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion);
        Assert.Equal(version, packageJson.RootElement.GetProperty("version").GetString());
    }
}
