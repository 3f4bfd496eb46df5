using System.Net;
using System.Text.Json;

namespace Zgres.Tests.Infrastructure;

/// <summary>Reads a server's health and metrics endpoints as a probe or a scraper on the same machine would.</summary>
public static class Management
{
    public static async Task<(HttpStatusCode Status, JsonElement Body)> GetHealthAsync(Uri server, string path)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(20) };
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(body).RootElement.Clone());
    }

    /// <summary>The named check of a health body.</summary>
    public static JsonElement Check(this JsonElement body, string name) =>
        body.GetProperty("checks").EnumerateArray().Single(check => check.GetProperty("name").GetString() == name);

    /// <summary>Polls readiness until it answers <paramref name="expected"/>; returns that answer's body.</summary>
    public static async Task<JsonElement> WaitForReadyAsync(Uri server, HttpStatusCode expected, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var (status, body) = await GetHealthAsync(server, "/healthz/ready");
            if (status == expected) return body;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"/healthz/ready stayed {(int)status}: {body}");
            await Task.Delay(100);
        }
    }

    public static async Task<string> GetMetricsAsync(Uri server)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(20) };
        return await http.GetStringAsync("/metrics");
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels contain <paramref name="label"/> (any when
    /// null); null when there is none. A sample line is <c>name{labels} value [timestamp]</c>.</summary>
    public static double? Sample(string metrics, string name, string? label = null)
    {
        double? sum = null;
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length == name.Length || line[name.Length] is not (' ' or '{')) continue;
            var labelsEnd = line[name.Length] == '{' ? line.IndexOf('}', StringComparison.Ordinal) + 1 : name.Length;
            if (label is not null && !line[..labelsEnd].Contains(label, StringComparison.Ordinal)) continue;
            var value = line[labelsEnd..].Trim().Split(' ')[0];
            sum = (sum ?? 0) + double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
