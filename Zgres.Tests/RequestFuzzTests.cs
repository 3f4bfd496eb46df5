using System.Text;
using System.Text.Json;
using CsCheck;
using Microsoft.Extensions.Logging;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Whatever bytes a client sends as a Subscribe, it gets an answer or is disconnected: never a server error,
/// never a failure with a stack trace in the log, and the server goes on serving everyone.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class RequestFuzzTests(PostgresFixture database)
{
    /// <summary>Texts that are hard to read: a lone surrogate of each kind (escaped, as JSON can carry them), control
    /// characters, quotes, a pair cut by a length limit, and the exposed table's own name.</summary>
    private static Gen<string> NastyText(string table) => Gen.OneOf(
        Gen.OneOf(table, "public." + table, "\\ud800", "\\udc00x", "a\\ud83d", "\\ud83d\\ude00", "\\u0000", "\\u0001tab\\u001f", "\\\"", "\\\\", "x.y.z", "",
            new string('é', 70), new string('a', 63) + "\\ud83d\\ude00", "a\\nb"),
        Gen.Char["a.\"\\éΩ\u0001"].Array[0, 8].Select(chars => new string(chars).Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\u0001", "\\u0001")));

    /// <summary>A Subscribe frame built from nasty texts in each place a client writes text: the table, the input, a
    /// property name, a filter's column, op and value.</summary>
    private static Gen<string> Frames(string table) => Gen.Select(NastyText(table), NastyText(table), NastyText(table), Gen.Int[0, 5], (first, second, third, shape) => shape switch
    {
        0 => $$"""{"table":"{{first}}"}""",
        1 => $$"""{"table":"{{table}}","inputId":"{{first}}"}""",
        2 => $$"""{"table":"{{table}}","{{first}}":1}""",
        3 => $$"""{"table":"{{table}}","filter":[{"column":"{{first}}","op":"{{second}}","value":"{{third}}"}]}""",
        4 => $$"""{"table":"{{table}}","filter":[{"column":"value","op":"in","value":["{{first}}","{{second}}"]}],"snapshot":true}""",
        _ => $$"""{"table":"{{table}}","filter":[{"{{first}}":"value","op":"eq","value":"{{second}}"}]}""",
    });

    /// <summary>Bytes that are not UTF-8 (a stray continuation, an overlong form, a surrogate encoded, a truncated
    /// sequence, 0xFF) or that break the JSON, written over or into a frame.</summary>
    private static readonly byte[][] BadBytes = [[0xFF], [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x00], [(byte)'"'], [(byte)'\\'], [(byte)'{'], [(byte)']']];

    private sealed record Mutation(int Position, int Bytes, bool Replace);

    private static Gen<(string Frame, Mutation[] Mutations)> Requests(string table) =>
        Gen.Select(Frames(table), Gen.Select(Gen.Int[0, 1000], Gen.Int[0, BadBytes.Length - 1], Gen.Bool, (at, bytes, replace) => new Mutation(at, bytes, replace)).Array[0, 3]);

    [Fact]
    public async Task Random_and_mutated_subscribe_frames_get_an_answer_or_a_close_never_a_server_error_and_the_server_keeps_serving()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?>
        {
            ["Zgres:Limits:SubscribesPerSecond"] = "100000",
            ["Zgres:Limits:MaxSubscriptionsPerConnection"] = "100000",
        });
        var raw = await RawHubClient.ConnectAsync(live.Server.Address);
        var (answers, refusals, closes, frames) = (0, 0, 0, 0);
        var reasons = new HashSet<string>(StringComparer.Ordinal);

        try
        {
            await Requests(live.Name).SampleAsync(async request =>
            {
                var id = $"f{++frames}";
                var bytes = Mutate(Encoding.UTF8.GetBytes($$"""{"type":1,"invocationId":"{{id}}","target":"Subscribe","arguments":[{{request.Frame}}]}"""), request.Mutations);
                await raw.SendRawAsync(bytes);
                // A probe after each frame: its answer comes after whatever the frame got, so the frame was handled.
                await raw.SubscribeAsync($"probe{frames}", """{"table":"no_such_table"}""");
                while (true)
                {
                    var message = await raw.NextMessageAsync();
                    if (message is null)
                    {
                        closes++;
                        raw.Dispose();
                        raw = await RawHubClient.ConnectAsync(live.Server.Address);
                        return;
                    }
                    using var json = JsonDocument.Parse(message);
                    var root = json.RootElement;
                    var type = root.GetProperty("type").GetInt32();
                    Assert.True(type is 1 or 3 or 6 or 7, $"unexpected message {message}");
                    if (type != 3) continue;
                    var error = root.TryGetProperty("error", out var e) ? e.GetString() : null;
                    // SignalR words a refusal "An unexpected error occurred invoking 'Subscribe' on the server. HubException: why";
                    // a server failure has no "HubException:" and no reason.
                    Assert.False(error is not null && !error.Contains(" HubException: ", StringComparison.Ordinal), $"{error}; the server logged: {LastFailure(live.Server.Log)}");
                    if (root.GetProperty("invocationId").GetString() == $"probe{frames}") return;
                    answers++;
                    if (error is not null)
                    {
                        refusals++;
                        reasons.Add(error[(error.IndexOf(" HubException: ", StringComparison.Ordinal) + 15)..].Split(':', '(')[0]);
                    }
                }
            }, iter: 2000, threads: 1, print: request => $"{request.Frame} with {JsonSerializer.Serialize(request.Mutations)}");
        }
        finally
        {
            raw.Dispose();
        }

        var failures = live.Server.Log.Entries.Where(entry => entry.Level >= LogLevel.Warning && entry.Exception is not null).ToList();
        Assert.True(failures.Count == 0, "logged with a stack trace:\n" + string.Join("\n", failures.Select(f => $"{f.Category} {f.EventId.Name}: {f.Message} {f.Exception!.GetType().Name}")));
        Assert.True(answers > 400 && closes > 100, $"{answers} answers ({refusals} refusals), {closes} closes: the frames test too little");
        Assert.Contains(reasons, reason => reason.Contains("is not valid text", StringComparison.Ordinal));

        // Served throughout: a subscriber now, and a write reaching it.
        var after = await live.SubscribeAsync(inputId: null);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'still serving')");
        Assert.Equal("still serving", (await after.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    private static string? LastFailure(CapturedLog log) =>
        string.Join("\n", log.Entries.TakeLast(12).Select(entry => $"{entry.Level} {entry.Category} {entry.EventId.Name}: {entry.Message} {entry.Exception}"));

    private static byte[] Mutate(byte[] frame, Mutation[] mutations)
    {
        var bytes = frame.ToList();
        foreach (var mutation in mutations)
        {
            var at = mutation.Position % bytes.Count;
            if (mutation.Replace) bytes.RemoveRange(at, Math.Min(BadBytes[mutation.Bytes].Length, bytes.Count - at));
            bytes.InsertRange(at, BadBytes[mutation.Bytes]);
        }
        return [.. bytes];
    }
}
