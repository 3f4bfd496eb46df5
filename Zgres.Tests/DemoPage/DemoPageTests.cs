using System.Net.Http.Json;
using System.Text.Json;
using Zgres.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Zgres.Tests.DemoPage;

/// <summary>The demo page in headless Chromium against the real server, with rows written through SQL.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class DemoPageTests(PostgresFixture database, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    private const string InputsShape = "id bigserial PRIMARY KEY, input_id int, value text, created_at timestamptz DEFAULT now()";

    /// <summary>A new table shaped like the demo table, a server watching it, and the page open and subscribed to it.</summary>
    private async Task<PageOnTable> OpenOnNewTableAsync()
    {
        var table = await database.CreateTableAsync(InputsShape).WithTimeout();
        var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);
        try
        {
            var page = await DemoPageSession.OpenAsync(chromium.Browser, server.Address);
            await page.WaitSubscribedAsync("public." + table);
            return new PageOnTable(table, server, page);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private sealed record PageOnTable(string Table, ZgresTestServer Server, DemoPageSession Page) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Page.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Page_loads_without_console_errors_and_requests_nothing_outside_the_server()
    {
        await using var watched = await OpenOnNewTableAsync();
        var (table, page) = (watched.Table, watched.Page);

        await Expect(page.Page.Locator("#table")).ToHaveValueAsync("public." + table);
        await Expect(page.Page.Locator("#empty")).ToBeVisibleAsync();
        // With a configured database the writer stays hidden: nothing on the page can write to real data.
        await Expect(page.Page.Locator("#writer")).ToBeHiddenAsync();
        await page.SaveScreenshotAsync("page-loaded");

        Assert.Empty(page.Errors);
        Assert.Contains(page.Requests, url => url.EndsWith("/lib/signalr/signalr.min.js", StringComparison.Ordinal));
        Assert.Contains(page.Requests, url => url.StartsWith("ws://", StringComparison.Ordinal) && url.Contains("/hubs/changes", StringComparison.Ordinal));
        Assert.All(page.Requests, url => Assert.True(page.IsOnServer(url), $"The page asked for {url}, outside {watched.Server.Address}"));
    }

    [Fact]
    public async Task Row_inserted_through_sql_appears_on_the_page()
    {
        await using var watched = await OpenOnNewTableAsync();
        var (table, page) = (watched.Table, watched.Page);

        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (7, $1)", "<b>first</b> \"row\" é").WithTimeout();

        var row = page.Row("INSERT", "first");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator(".input-chip")).ToHaveTextAsync("input 7");
        await Expect(page.Value(row, "input_id")).ToHaveTextAsync("7");
        // Values are text, never markup.
        await Expect(page.Value(row, "value")).ToHaveTextAsync("<b>first</b> \"row\" é");
        await Expect(page.Value(row, "id")).ToHaveTextAsync("1");
        await Expect(page.Value(row, "created_at")).ToContainTextAsync("+00:00");
        await Expect(row.Locator(".event-id")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^#\d+$"));
        await Expect(page.Page.Locator("#shown")).ToHaveTextAsync("1");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Following_one_input_id_hides_other_inputs()
    {
        await using var watched = await OpenOnNewTableAsync();
        var (table, page) = (watched.Table, watched.Page);
        var name = "public." + table;
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'one before'), (2, 'two before')").WithTimeout();
        await Expect(page.Rows).ToHaveCountAsync(2);

        await page.FollowAsync(name, "2");
        await Expect(page.Row("INSERT", "one before")).ToHaveCountAsync(0);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'one after'), (2, 'two after'), (3, 'three after')").WithTimeout();
        await database.ExecuteAsync($"UPDATE {table} SET value = 'two updated' WHERE value = 'two after'").WithTimeout();

        await Expect(page.Row("UPDATE", "two updated")).ToHaveCountAsync(1);
        await Expect(page.Rows).ToHaveCountAsync(3);
        await Expect(page.Page.Locator("#feed > li:not([data-input-id='2'])")).ToHaveCountAsync(0);

        // Back to the whole table: new changes of every input show again.
        await page.FollowAsync(name, null);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (3, 'three later')").WithTimeout();
        await Expect(page.Row("INSERT", "three later")).ToHaveCountAsync(1);

        // A row's input chip follows that input too.
        await page.Row("INSERT", "three later").GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Follow input 3 only" }).ClickAsync().WithTimeout();
        await page.WaitSubscribedAsync(name, "3");
        await Expect(page.Page.GetByLabel("Follow input_id")).ToHaveValueAsync("3");
        await Expect(page.Page.Locator("#feed > li:not([data-input-id='3'])")).ToHaveCountAsync(0);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task An_update_shows_each_changed_column_as_old_and_new_value()
    {
        await using var watched = await OpenOnNewTableAsync();
        var (table, page) = (watched.Table, watched.Page);

        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (4, 'before')").WithTimeout();
        await database.ExecuteAsync($"UPDATE {table} SET value = 'after' WHERE input_id = 4").WithTimeout();
        await database.ExecuteAsync($"DELETE FROM {table} WHERE input_id = 4").WithTimeout();

        var update = page.Row("UPDATE", "after");
        await Expect(update).ToHaveCountAsync(1);
        var changed = update.Locator(".diff .pair").Filter(new() { HasText = "value" });
        await Expect(changed.Locator(".old")).ToHaveTextAsync("before");
        await Expect(changed.Locator(".new")).ToHaveTextAsync("after");
        await Expect(update.Locator(".diff .pair")).ToHaveCountAsync(1);
        // Unchanged columns are listed plainly, not as changes.
        await Expect(page.Value(update, "input_id")).ToHaveTextAsync("4");
        await Expect(page.Row("DELETE", "after")).ToHaveCountAsync(1);
        // Newest first.
        await Expect(page.Rows.Nth(0)).ToHaveAttributeAsync("data-operation", "DELETE");
        await Expect(page.Rows.Nth(2)).ToHaveAttributeAsync("data-operation", "INSERT");
        await page.SaveScreenshotAsync("update");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Pausing_holds_new_changes_until_resumed()
    {
        await using var watched = await OpenOnNewTableAsync();
        var (table, page) = (watched.Table, watched.Page);
        var pause = page.Page.Locator("#pause");

        await pause.ClickAsync().WithTimeout();
        await Expect(pause).ToHaveAttributeAsync("aria-pressed", "true");
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'held 1'), (1, 'held 2')").WithTimeout();
        await Expect(pause).ToHaveTextAsync("Resume (2 new)");
        await Expect(page.Rows).ToHaveCountAsync(0);

        await pause.ClickAsync().WithTimeout();
        await Expect(page.Rows).ToHaveCountAsync(2);
        await Expect(page.Rows.Nth(0)).ToContainTextAsync("held 2");
        await page.Page.Locator("#clear").ClickAsync().WithTimeout();
        await Expect(page.Rows).ToHaveCountAsync(0);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task A_burst_of_a_thousand_changes_keeps_the_newest_500_and_the_page_responsive()
    {
        await using var watched = await OpenOnNewTableAsync();
        var (table, page) = (watched.Table, watched.Page);

        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT i % 10, 'burst ' || i FROM generate_series(1, 1000) i").WithTimeout();

        await Expect(page.Rows.Nth(0)).ToContainTextAsync("burst 1000", new() { Timeout = 30_000 });
        await Expect(page.Rows).ToHaveCountAsync(500);
        await Expect(page.Rows.Nth(499)).ToContainTextAsync("burst 501");
        await Expect(page.Page.Locator("#shown")).ToHaveTextAsync("500");
        // Still responsive: a script round trip answers at once.
        var started = DateTime.UtcNow;
        Assert.Equal(2, await page.Page.EvaluateAsync<int>("() => 1 + 1").WithTimeout());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "The page took over 2 s to answer a script call after the burst.");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task An_access_token_entered_on_the_page_is_sent_to_the_hub_and_the_api_and_kept_for_the_tab()
    {
        await using var watched = await OpenOnNewTableAsync();
        var page = watched.Page.Page;
        const string Token = "token-entered-on-the-page";
        static bool Carries(Microsoft.Playwright.IRequest request, string path) =>
            request.Url.Contains(path, StringComparison.Ordinal)
            && request.Headers.TryGetValue("authorization", out var value) && value == $"Bearer {Token}";

        // A new token is used at once: the page connects to the hub again with it.
        var negotiate = page.WaitForRequestAsync(request => Carries(request, "/hubs/changes/negotiate"));
        await page.GetByLabel("Access token").FillAsync(Token).WithTimeout();
        await page.GetByLabel("Access token").PressAsync("Tab").WithTimeout();
        await negotiate.WithTimeout();

        // Kept in sessionStorage: after a reload the page loads its tables with it.
        var tables = page.WaitForRequestAsync(request => Carries(request, "/api/tables"));
        await page.ReloadAsync().WithTimeout();
        await tables.WithTimeout();
        await Expect(page.GetByLabel("Access token")).ToHaveValueAsync(Token);
    }

    [Fact]
    public async Task Load_current_rows_shows_a_live_view_of_the_filter_that_stays_equal_to_the_query_while_the_list_shows_its_changes()
    {
        // The embedded default: the server's own database with public.inputs, written through its demo API.
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [],
            settings: new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = "" });
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = Timeouts.Default };
        async Task<long> InsertAsync(int inputId, string value)
        {
            using var response = await http.PostAsJsonAsync("/api/demo/inputs", new { inputId, value }).WithTimeout();
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("id").GetInt64();
        }
        async Task UpdateAsync(long id, string value) =>
            (await http.PutAsJsonAsync($"/api/demo/inputs/{id}", new { value }).WithTimeout()).EnsureSuccessStatusCode();

        var first = await InsertAsync(1, "hello");
        var second = await InsertAsync(2, "hello");
        var other = await InsertAsync(1, "other");
        await using var page = await DemoPageSession.OpenAsync(chromium.Browser, server.Address);
        await page.WaitSubscribedAsync("public.inputs");

        await page.Page.GetByLabel("Load current rows").CheckAsync().WithTimeout();
        await page.Page.GetByLabel("Filter").FillAsync("value eq hello").WithTimeout();
        await page.Page.GetByLabel("Filter").PressAsync("Enter").WithTimeout();
        await Expect(page.Feed).ToHaveAttributeAsync("data-filter", "value eq hello");
        await Expect(page.Page.Locator("#feed-scope")).ToHaveTextAsync("in public.inputs, where value eq hello");

        // The two matching rows as they are now, in the rows panel; the list of changes stays empty.
        var rows = page.Page.Locator("#rows-body > tr");
        await Expect(page.Page.Locator("#rows-panel")).ToBeVisibleAsync();
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(page.Page.Locator($"#rows-body > tr[data-key='{first}']")).ToContainTextAsync("hello");
        await Expect(page.Page.Locator($"#rows-body > tr[data-key='{second}']")).ToContainTextAsync("hello");
        await Expect(page.Page.Locator("#rows-count")).ToHaveTextAsync("(2)");
        await Expect(page.Rows).ToHaveCountAsync(0);

        // Then the view follows the query: a row inserted, one moving in, one moving out; not the others. The list shows
        // those changes (the one moving out as the view knew it).
        await InsertAsync(3, "bye");
        var third = await InsertAsync(3, "hello");
        await UpdateAsync(other, "hello");
        await UpdateAsync(first, "changed");
        await Expect(page.Page.Locator("#rows-body > tr")).ToHaveCountAsync(3);
        foreach (var kept in new[] { second, third, other })
        {
            await Expect(page.Page.Locator($"#rows-body > tr[data-key='{kept}']")).ToContainTextAsync("hello");
        }
        await Expect(page.Page.Locator($"#rows-body > tr[data-key='{first}']")).ToHaveCountAsync(0);
        await Expect(page.Page.Locator("#rows-body")).Not.ToContainTextAsync("bye");
        var movedOut = page.Row("UPDATE", "The row no longer matches the filter.");
        await Expect(movedOut).ToHaveCountAsync(1);
        await Expect(movedOut.Locator(".values")).ToContainTextAsync("hello");
        await Expect(page.Row("UPDATE", "The row entered this view.")).ToHaveCountAsync(1);
        await Expect(page.Row("INSERT", "hello")).ToHaveCountAsync(1);
        await Expect(page.Rows).ToHaveCountAsync(3);
        await page.SaveScreenshotAsync("filter-and-current-rows");
        Assert.Empty(page.Errors);

        // Unchecked, the page follows the query with a plain subscription again, which goes on from where the view
        // stood: a row written while the page switches is shown too, once.
        await page.Page.GetByLabel("Load current rows").UncheckAsync().WithTimeout();
        await InsertAsync(4, "hello");
        await Expect(page.Page.Locator("#rows-panel")).ToBeHiddenAsync();
        await page.WaitSubscribedAsync("public.inputs");
        await Expect(page.Row("INSERT", "hello")).ToHaveCountAsync(2);
        await InsertAsync(5, "hello");
        await Expect(page.Row("INSERT", "hello")).ToHaveCountAsync(3);

        // A filter the server refuses says why, in the server's words.
        await page.Page.GetByLabel("Filter").FillAsync("value gt hello").WithTimeout();
        await page.Page.GetByLabel("Filter").PressAsync("Enter").WithTimeout();
        await Expect(page.Page.Locator("#notices")).ToContainTextAsync("not supported on a text column");
    }

    [Fact]
    public async Task After_the_server_restarts_the_page_reconnects_by_itself_and_shows_rows_written_while_it_was_down()
    {
        var table = await database.CreateTableAsync(InputsShape).WithTimeout();
        var name = "public." + table;
        var port = ZgresTestServer.FreePort();
        ZgresTestServer? server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], port);
        try
        {
            await using var page = await DemoPageSession.OpenAsync(chromium.Browser, server.Address);
            await page.WaitSubscribedAsync(name);
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'before the restart')").WithTimeout();
            await Expect(page.Row("INSERT", "before the restart")).ToHaveCountAsync(1);

            await server.DisposeAsync();
            server = null;
            await Expect(page.Connection).Not.ToHaveAttributeAsync("data-state", "live");
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'while down 1'), (2, 'while down 2')").WithTimeout();
            await database.ExecuteAsync($"UPDATE {table} SET value = 'changed while down' WHERE value = 'before the restart'").WithTimeout();
            server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], port);

            await Expect(page.Connection).ToHaveAttributeAsync("data-state", "live", new() { Timeout = 30_000 });
            await page.WaitSubscribedAsync(name);
            await Expect(page.Row("INSERT", "while down 1")).ToHaveCountAsync(1);
            await Expect(page.Row("INSERT", "while down 2")).ToHaveCountAsync(1);
            await Expect(page.Row("UPDATE", "changed while down")).ToHaveCountAsync(1);
            // Nothing twice: the replay starts after the last event the page saw.
            await Expect(page.Rows).ToHaveCountAsync(4);

            await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (3, 'after the restart')").WithTimeout();
            await Expect(page.Row("INSERT", "after the restart")).ToHaveCountAsync(1);
            await page.SaveScreenshotAsync("after-restart");
            Assert.All(page.Requests, url => Assert.True(page.IsOnServer(url), $"The page asked for {url}"));
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
        }
    }
}
