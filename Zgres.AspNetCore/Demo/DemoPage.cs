using Microsoft.Extensions.FileProviders;

namespace Zgres.AspNetCore.Demo;

/// <summary>
/// The demo page's files (the page, its client <c>@zgres/client</c> as <c>/lib/zgres-client/</c> and the SignalR browser
/// bundle as <c>/lib/signalr/</c>), embedded in this assembly so that every host, the packaged one included, serves the
/// same page without a web root of its own. Served at <c>/</c> when <c>Zgres:DemoPage</c> is on.
/// </summary>
internal static class DemoPage
{
    /// <summary>The prefix of the files' resource names (see Zgres.AspNetCore.csproj).</summary>
    private const string ResourcePrefix = "Zgres.DemoPage";

    public static void Serve(WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(DemoPage).Assembly, ResourcePrefix);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
    }
}
