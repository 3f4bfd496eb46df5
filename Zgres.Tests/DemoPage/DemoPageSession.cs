using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Zgres.Tests.DemoPage;

/// <summary>
/// The demo page open in a fresh browser context, with what it logged as errors and every request it made. Requests
/// for anything but the server are recorded and aborted, so a page that reached outside would both fail to render
/// and fail the check.
/// </summary>
public sealed class DemoPageSession : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly Uri _server;
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentQueue<string> _requests = new();

    private DemoPageSession(IBrowserContext context, IPage page, Uri server)
    {
        _context = context;
        _server = server;
        Page = page;
    }

    public IPage Page { get; }

    /// <summary>Console errors and uncaught exceptions, in order.</summary>
    public IReadOnlyList<string> Errors => [.. _errors];

    /// <summary>Every URL the page asked for, WebSockets included.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    public ILocator Connection => Page.Locator("#connection");

    public ILocator Feed => Page.Locator("#feed");

    public ILocator Rows => Page.Locator("#feed > li");

    public static async Task<DemoPageSession> OpenAsync(IBrowser browser, Uri server)
    {
        var context = await browser.NewContextAsync(new()
        {
            BaseURL = server.ToString(),
            ViewportSize = new() { Width = 1280, Height = 900 },
            ColorScheme = ColorScheme.Light,
        }).WithTimeout();
        context.SetDefaultTimeout(15_000);
        context.SetDefaultNavigationTimeout(15_000);
        var page = await context.NewPageAsync().WithTimeout();
        var session = new DemoPageSession(context, page, server);
        await context.RouteAsync("**/*", route =>
        {
            session._requests.Enqueue(route.Request.Url);
            return session.IsOnServer(route.Request.Url) ? route.ContinueAsync() : route.AbortAsync();
        }).WithTimeout();
        page.WebSocket += (_, socket) => session._requests.Enqueue(socket.Url);
        page.Console += (_, message) =>
        {
            if (message.Type == "error") session._errors.Enqueue(message.Text);
        };
        page.PageError += (_, error) => session._errors.Enqueue(error);

        await page.GotoAsync("/").WithTimeout();
        await Expect(session.Connection).ToHaveAttributeAsync("data-state", "live");
        return session;
    }

    /// <summary>True when <paramref name="url"/> names this server (http or ws, same host and port).</summary>
    public bool IsOnServer(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "ws"
        && uri.Host == _server.Host && uri.Port == _server.Port;

    /// <summary>Waits until the server has joined the page to <paramref name="table"/> (and one input of it).</summary>
    public Task WaitSubscribedAsync(string table, string? inputId = null) =>
        Expect(Feed).ToHaveAttributeAsync("data-subscribed", inputId is null ? table : $"{table}:{inputId}");

    /// <summary>The rows of one operation whose text contains <paramref name="text"/>.</summary>
    public ILocator Row(string operation, string text) =>
        Page.Locator($"#feed > li[data-operation='{operation}']").Filter(new() { HasText = text });

    /// <summary>The value shown for <paramref name="column"/> in a row.</summary>
    public ILocator Value(ILocator row, string column) =>
        row.Locator(".pair").Filter(new() { Has = Page.Locator("dt", new() { HasTextRegex = new Regex($"^{Regex.Escape(column)}$") }) }).Locator("dd");

    public async Task FollowAsync(string table, string? inputId)
    {
        await Page.GetByLabel("Follow input_id").FillAsync(inputId ?? "").WithTimeout();
        await Page.GetByLabel("Follow input_id").PressAsync("Enter").WithTimeout();
        await WaitSubscribedAsync(table, inputId);
    }

    /// <summary>Saves a screenshot under the test output's <c>screenshots</c> folder and returns its path.</summary>
    public async Task<string> SaveScreenshotAsync(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "screenshots", name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Whole page, with the arrival highlight finished, so the picture shows the page at rest.
        await Page.ScreenshotAsync(new() { Path = path, FullPage = true, Animations = ScreenshotAnimations.Disabled }).WithTimeout();
        return path;
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync().WithTimeout();
}
