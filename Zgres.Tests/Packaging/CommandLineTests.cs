using Zgres.AspNetCore.Hosting;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests.Packaging;

/// <summary>The command line of the server and of the zgres tool (the same program).</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task The_server_prints_its_version_and_its_help_and_refuses_an_unknown_command_without_starting()
    {
        var none = new Dictionary<string, string>();

        var version = await ServerProcess.RunCommandAsync(["--version"], none);
        Assert.Equal((0, ZgresVersion.Current), (version.ExitCode, version.Output.Trim()));

        var help = await ServerProcess.RunCommandAsync(["--help"], none);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("zgres migrate [VERSION]", help.Output, StringComparison.Ordinal);
        Assert.Contains("--urls", help.Output, StringComparison.Ordinal);

        var unknown = await ServerProcess.RunCommandAsync(["migrat", "--urls", "http://127.0.0.1:1"], none);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("Unknown command 'migrat'", unknown.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Embedded PostgreSQL started", unknown.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_command_is_read_from_the_words_between_configuration_switches_and_their_values()
    {
        string[] args = ["--urls", "http://127.0.0.1:5080", "migrate", "--Zgres:Capture=Wal", "202611250002", "-v"];

        Assert.Equal(["migrate", "202611250002"], CommandLine.Words(args));
    }
}
