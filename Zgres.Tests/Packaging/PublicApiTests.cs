using PublicApiGenerator;
using Zgres.AspNetCore.Hosting;
using Zgres.Client;

namespace Zgres.Tests.Packaging;

/// <summary>What the packages let users program against, listed in a committed file beside each project, so that a change
/// to the surface shows as a diff in review. A change that is meant: copy <c>PublicAPI.received.txt</c> (written beside
/// the file when they differ) over <c>PublicAPI.approved.txt</c>.</summary>
public sealed class PublicApiTests
{
    public static TheoryData<string> Packages => ["Zgres.AspNetCore", "Zgres.Client"];

    [Theory]
    [MemberData(nameof(Packages))]
    public void The_public_api_of_each_package_is_the_approved_one(string package)
    {
        var assembly = package switch
        {
            "Zgres.AspNetCore" => typeof(ZgresServiceCollectionExtensions).Assembly,
            _ => typeof(ZgresClient).Assembly,
        };
        var api = assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }).ReplaceLineEndings("\n");
        var approvedFile = Repository.PathOf(package, "PublicAPI.approved.txt");
        var receivedFile = Repository.PathOf(package, "PublicAPI.received.txt");
        var approved = File.Exists(approvedFile) ? File.ReadAllText(approvedFile).ReplaceLineEndings("\n") : "";
        if (api == approved)
        {
            File.Delete(receivedFile);
            return;
        }
        File.WriteAllText(receivedFile, api);
        Assert.Fail($"The public API of {package} differs from {approvedFile}. If the change is meant, copy {receivedFile} over it.");
    }
}
