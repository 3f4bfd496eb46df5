using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Zgres.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Zgres.Tests.DemoPage;

/// <summary>The demo writer (<c>/api/demo</c> and its form): on with the embedded database only.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class DemoWriterTests(PostgresFixture database, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    [Fact]
    public async Task With_the_embedded_database_the_page_inserts_updates_and_deletes_demo_rows()
    {
        // An empty connection string means "no database configured": the server starts its own, with public.inputs.
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [],
            settings: new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = "" });
        await using var page = await DemoPageSession.OpenAsync(chromium.Browser, server.Address);
        await page.WaitSubscribedAsync("public.inputs");
        var writer = page.Page.Locator("#writer");
        await Expect(writer).ToBeVisibleAsync();
        await Expect(page.Page.Locator("#psql")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^psql \"postgresql://postgres:[^\"]+@127\\.0\\.0\\.1:\\d+/postgres\"$"));

        string[][] rows = [["1", "sensor online"], ["2", "temperature 21.5 °C"], ["3", "door opened"], ["2", "temperature 21.9 °C"], ["1", "battery 87 %"]];
        foreach (var (inputId, value) in rows.Select(r => (r[0], r[1])))
        {
            await writer.GetByLabel("input_id").FillAsync(inputId).WithTimeout();
            await writer.GetByLabel("value", new() { Exact = true }).FillAsync(value).WithTimeout();
            await writer.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Insert", Exact = true }).ClickAsync().WithTimeout();
            await Expect(page.Row("INSERT", value)).ToHaveCountAsync(1);
        }
        await Expect(page.Page.Locator("#writer-result")).ToHaveTextAsync("Inserted row 5 (input 1).");

        await writer.GetByLabel("row id").FillAsync("3").WithTimeout();
        await writer.GetByLabel("new value").FillAsync("door closed").WithTimeout();
        await writer.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Update" }).ClickAsync().WithTimeout();
        var update = page.Row("UPDATE", "door closed");
        await Expect(update.Locator(".old")).ToHaveTextAsync("door opened");
        await Expect(update.Locator(".new")).ToHaveTextAsync("door closed");

        await writer.GetByLabel("row id").FillAsync("2").WithTimeout();
        await writer.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Delete" }).ClickAsync().WithTimeout();
        await Expect(page.Row("DELETE", "temperature 21.5 °C")).ToHaveCountAsync(1);
        await Expect(page.Page.Locator("#writer-result")).ToHaveTextAsync("Deleted row 2.");

        var screenshot = await page.SaveScreenshotAsync("demo-page");
        Assert.True(File.Exists(screenshot));
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task With_the_embedded_database_bad_writes_get_a_400_that_says_what_was_wrong()
    {
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [],
            settings: new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = "" });
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = Timeouts.Default };

        var status = await http.GetFromJsonAsync<JsonElement>("/api/demo").WithTimeout();
        Assert.True(status.GetProperty("enabled").GetBoolean());
        Assert.Equal("public.inputs", status.GetProperty("table").GetString());

        await AssertBadRequestAsync(http.PostAsJsonAsync("/api/demo/inputs", new { value = "no input" }), "inputId is required");
        await AssertBadRequestAsync(http.PostAsJsonAsync("/api/demo/inputs", new { inputId = "seven", value = "x" }), "$.inputId");
        await AssertBadRequestAsync(http.PostAsJsonAsync("/api/demo/inputs", new { inputId = 1, value = new string('x', 1001) }), "at most 1000");
        await AssertBadRequestAsync(http.PostAsync("/api/demo/inputs", new StringContent("inputId=1")), "Send a JSON body");
        await AssertBadRequestAsync(http.PutAsJsonAsync("/api/demo/inputs/1", new { value = "" }), "value must not be empty");
        await AssertBadRequestAsync(http.DeleteAsync("/api/demo/inputs/0"), "id must be a row id");
        var missing = await http.PutAsJsonAsync("/api/demo/inputs/999999", new { value = "x" }).WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no row with id 999999", await missing.Content.ReadAsStringAsync().WithTimeout(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_configured_database_the_writer_is_off_and_its_api_answers_404()
    {
        var table = await database.CreateTableAsync().WithTimeout();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = Timeouts.Default };

        var status = await http.GetFromJsonAsync<JsonElement>("/api/demo").WithTimeout();
        Assert.False(status.GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("psql").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/api/demo/inputs", new { inputId = 1, value = "x" }).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PutAsJsonAsync("/api/demo/inputs/1", new { value = "x" }).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync("/api/demo/inputs/1").WithTimeout()).StatusCode);
    }

    private static async Task AssertBadRequestAsync(Task<HttpResponseMessage> request, string expected)
    {
        using var response = await request.WithTimeout();
        var body = await response.Content.ReadAsStringAsync().WithTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
