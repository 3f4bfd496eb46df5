using Zgres.Bench.Cli;
using Zgres.Bench.Floor;
using Zgres.Bench.LiveViews;
using Zgres.Bench.Scenarios;

// zgres-bench <scenario> [options]: Zgres and the seed-node baseline side by side (see --help).
// The live-view scenario runs this tool again as its .NET consumer process, --signalr-floor as its bare SignalR server.
if (args is [DotnetConsumer.Command, .. var consumerArguments]) return await DotnetConsumer.RunAsync(consumerArguments);
if (args is [SignalRFloor.Command, .. var floorArguments]) return await SignalRFloor.RunAsync(floorArguments);
var options = BenchOptions.Parse(args, out var error);
if (options is null)
{
    await Console.Error.WriteLineAsync(error);
    await Console.Error.WriteLineAsync("Run with --help for the scenarios and options.");
    return 2;
}
if (options.Help)
{
    Console.WriteLine(BenchOptions.HelpText);
    return 0;
}
return await BenchRun.RunAsync(options);
