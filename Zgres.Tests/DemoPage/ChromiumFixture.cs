using Microsoft.Playwright;

namespace Zgres.Tests.DemoPage;

/// <summary>
/// One headless Chromium for a test class: Debian's own (<c>apt-get install chromium</c>), driven by the Playwright
/// driver that ships inside the NuGet package. No browser is ever downloaded.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not started.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"The demo page tests need Debian's Chromium at {ExecutablePath}: apt-get install -y chromium");
        }
        // Playwright's own expectations wait this long unless told otherwise; a loaded two-core machine needs patience.
        Assertions.SetDefaultExpectTimeout(15_000);
        _playwright = await Playwright.CreateAsync().WaitAsync(Timeouts.Default);
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Timeout = 30_000,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync().WaitAsync(Timeouts.Default);
        _playwright?.Dispose();
    }
}

/// <summary>Every await in these tests is bounded: a hang fails the test with a timeout instead of stalling the run.</summary>
internal static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    public static Task WithTimeout(this Task task) => task.WaitAsync(Default);

    public static Task<T> WithTimeout<T>(this Task<T> task) => task.WaitAsync(Default);
}
