using System.Text.Json;

namespace Zgres.Bench.LiveViews;

/// <summary>How a consumer holds the table's rows.</summary>
internal enum ConsumerMode
{
    /// <summary>The client's live view (.NET <c>LiveQueryAsync&lt;TRow&gt;</c>, Node <c>liveQuery</c>).</summary>
    View,

    /// <summary>A plain subscription with a snapshot whose handler applies every event to a dictionary (Node: a Map) by id.</summary>
    Subscription,
}

/// <summary>
/// What a live-view consumer process (<see cref="DotnetConsumer"/>, <c>Zgres.Client.Js/bench/live-view.mjs</c>) and
/// the bench say to each other. The consumer is started with the arguments <c>SERVER TABLE MODE ROWS</c> (MODE
/// <c>view</c> or <c>subscription</c>; ROWS the rows the table holds, which a plain subscription's snapshot must bring)
/// and writes one JSON object a line to its standard output (other lines are logs); the bench writes commands to its
/// standard input, one a line:
/// <list type="number">
/// <item>consumer: <c>{"event":"started","heapBytes":H}</c> once its client is connected, H its heap after a full collection;</item>
/// <item>bench: <c>open</c>; consumer: <c>{"event":"ready","readyMs":T,"rows":N,"heapBytes":H}</c>, T from its
/// subscribe call until the snapshot's last row was in its rows, H measured after that;</item>
/// <item>consumer, every 250 ms from then on (so that the bench's once-a-second progress line always reads a fresh count): <c>{"event":"progress","applied":A}</c>, A the events applied after the snapshot;</item>
/// <item>bench, once its writers committed E events: <c>expect E</c>; consumer, as soon as it has applied E:
/// <c>{"event":"caught-up","applied":A,"reconnects":C,"resyncs":R}</c>, then
/// <c>{"event":"contents","rows":N,"seqSum":S}</c> (its row count and the sum of their <c>seq</c>, to check against SELECT);</item>
/// <item>bench: <c>quit</c> (or closing the input): the consumer closes its client and exits.</item>
/// </list>
/// </summary>
internal sealed record ConsumerReport(string Event, long Applied = 0, double ReadyMs = 0, long Rows = 0, long HeapBytes = 0, long SeqSum = 0, int Reconnects = 0, int Resyncs = 0)
{
    public const string Started = "started";
    public const string Ready = "ready";
    public const string Progress = "progress";
    public const string CaughtUp = "caught-up";
    public const string Contents = "contents";

    public const string Open = "open";
    public const string Expect = "expect ";
    public const string Quit = "quit";

    /// <summary>camelCase, as JavaScript writes it.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);
}
