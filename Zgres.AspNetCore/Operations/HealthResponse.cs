using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Zgres.AspNetCore.Operations;

/// <summary>
/// The health endpoints' JSON body: the overall status and each check with its status and why, so that an operator
/// reading a 503 sees which check failed and the reason without the server's log:
/// <c>{ "status": "Unhealthy", "checks": [{ "name": "database", "status": "Unhealthy", "description": "…", "durationMs": 3.1 }] }</c>.
/// </summary>
internal static class HealthResponse
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Description is { } description) json.WriteString("description", description);
            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
