// A new console app (dotnet new console) with the Zgres.Client package: prints "subscribed", then the first change
// of the table it is given, and exits; exits 1 if none comes within a minute.
using Zgres.Client;

var (server, table, column) = (new Uri(args[0]), args[1], args[2]);
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
await using var client = new ZgresClient(server);
await client.StartAsync(timeout.Token);
var received = new TaskCompletionSource<ChangeEvent>();
await using var subscription = await client.SubscribeAsync(table, inputId: null,
    (ChangeEvent change) => { received.TrySetResult(change); return Task.CompletedTask; }, timeout.Token);
Console.WriteLine("subscribed");
var first = await received.Task.WaitAsync(timeout.Token);
Console.WriteLine($"received {first.Operation} {first.Data.GetProperty(column).GetString()}");
