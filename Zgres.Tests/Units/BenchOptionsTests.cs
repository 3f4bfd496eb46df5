using System.Globalization;
using CsCheck;
using Zgres.Bench.Cli;

namespace Zgres.Tests.Units;

/// <summary>The bench's command line (<c>Zgres.Bench</c>): a bad one is refused saying why, and the command a report
/// prints runs the same options again, as BENCHMARKS.md quotes it.</summary>
public sealed class BenchOptionsTests
{
    [Theory]
    [InlineData("latncy", "Unknown scenario 'latncy'")]
    [InlineData("latency --clients", "Option --clients needs a value.")]
    [InlineData("latency --clients 0", "Bad option or value: --clients 0")]
    [InlineData("latency --zgres-client 1", "Bad option or value: --zgres-client 1")]
    [InlineData("writes --workloads row,insert51", "Bad option or value: --workloads row,insert51")]
    [InlineData("writes --before-server-dll /nowhere/Zgres.Server.dll", "--before-server-dll: /nowhere/Zgres.Server.dll does not exist.")]
    [InlineData("filtered --only baseline", "filtered measures Zgres only")]
    [InlineData("latency --signalr-floor on --only zgres", "--signalr-floor runs in saturation, latency and broadcast")]
    [InlineData("writes --signalr-floor on", "--signalr-floor runs in saturation, latency and broadcast")]
    public void A_bad_command_line_is_refused_with_an_error_that_names_what_is_wrong(string line, string expected)
    {
        Assert.Null(BenchOptions.Parse(line.Split(' '), out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_a_delivery_report_prints_runs_the_same_options_again()
    {
        static Gen<string[]> Option(string name, Gen<string> values) => Gen.OneOf(Gen.Const(Array.Empty<string>()), values.Select(value => new[] { name, value }));
        static Gen<string> Number(int low, int high) => Gen.Int[low, high].Select(n => n.ToString(CultureInfo.InvariantCulture));
        // Seconds and rates with at most one decimal, as the reports print them.
        static Gen<string> Tenths(int low, int high) => Gen.Int[low, high].Select(n => (n / 10.0).ToString(CultureInfo.InvariantCulture));
        Gen<string[]>[] options =
        [
            Option("--clients", Number(1, 10_000)),
            Option("--table-subscribers", Number(0, 50)),
            Option("--writers", Number(1, 16)),
            Option("--batch", Number(1, 500)),
            Option("--rate", Tenths(1, 100_000)),
            Option("--duration", Tenths(1, 36_000)),
            Option("--warmup", Tenths(0, 6_000)),
            Option("--zgres-client", Gen.OneOf(Gen.Const("wire"), Gen.Const("hub"), Gen.Const("typed"))),
            Option("--capture", Gen.OneOf(Gen.Const("trigger"), Gen.Const("wal"), Gen.Const("wal,trigger"))),
            Option("--carried", Gen.OneOf(Gen.Const("on"), Gen.Const("off"))),
            Option("--zgres-env", Gen.Select(Gen.Char["ABZ_"].Array[1, 8], Gen.Char["az09=:"].Array[0, 8], (key, value) => $"{new string(key)}={new string(value)}")),
            Option("--signalr-floor", Gen.Const("on")),
        ];
        var scenarios = Gen.OneOf(Gen.Const("saturation"), Gen.Const("latency"), Gen.Const("broadcast")).Select(scenario => new[] { scenario });
        var lines = options.Aggregate(scenarios, (line, option) => Gen.Select(line, option, (given, more) => (string[])[.. given, .. more]));
        lines.Sample(line =>
        {
            var given = BenchOptions.Parse(line, out var error) ?? throw new InvalidOperationException(error);
            var printed = given.Describe();
            var again = BenchOptions.Parse([line[0], .. printed.Split(' ')], out error) ?? throw new InvalidOperationException($"{printed}: {error}");

            Assert.Equal(printed, again.Describe());
            Assert.Equal(
                (given.Clients, given.TableSubscribers, given.Writers, given.Batch, given.Rate, given.Duration, given.Warmup, given.ZgresClient, given.Carried, given.SignalRFloor),
                (again.Clients, again.TableSubscribers, again.Writers, again.Batch, again.Rate, again.Duration, again.Warmup, again.ZgresClient, again.Carried, again.SignalRFloor));
            Assert.Equal(given.Captures, again.Captures);
            Assert.Equal(given.ZgresEnvironment, again.ZgresEnvironment);
        }, print: line => string.Join(' ', line));
    }
}
