using Zgres.AspNetCore.Demo;

// In the namespace where MapZgres composes the app, so that adding the demo there is one line (as ASP.NET Core's own
// Map* extensions sit in Microsoft.AspNetCore.Builder, beside WebApplication).
namespace Zgres.AspNetCore.Hosting;

internal static class DemoApplicationExtensions
{
    /// <summary>Maps the demo page's writer API, <c>/api/demo</c> (see <see cref="DemoEndpoints"/>).</summary>
    public static WebApplication MapDemo(this WebApplication app) => DemoEndpoints.Map(app);
}
