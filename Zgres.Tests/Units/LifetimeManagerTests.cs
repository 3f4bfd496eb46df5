using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;
using Zgres.Client;

namespace Zgres.Tests.Units;

/// <summary>
/// <see cref="ChangeLifetimeManager"/> against the specification every SignalR lifetime manager meets (in the manner of
/// ASP.NET Core's HubLifetimeManagerTestsBase): each send reaches exactly whom <see cref="DefaultHubLifetimeManager{THub}"/>
/// would reach; then what it adds: the filter index follows group membership, holds, and cutting a client that stops
/// reading. Connections are in memory: a <see cref="HubConnectionContext"/> over pipes the test reads.
/// </summary>
public sealed class LifetimeManagerTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FilterIndex _filters = new();

    private ChangeLifetimeManager CreateManager(int maxBacklog = 2_000, TimeSpan? stall = null, TimeSpan? keepAlive = null) => new(
        Options.Create(new ZgresOptions
        {
            MaxClientBacklog = maxBacklog, ClientStallTimeout = stall ?? TimeSpan.FromSeconds(5), KeepAliveInterval = keepAlive ?? TimeSpan.FromSeconds(15),
        }),
        _filters, new ZgresMetrics(_services.GetRequiredService<IMeterFactory>()), NullLogger<ChangeLifetimeManager>.Instance);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task SendAllAsync_writes_to_every_connection()
    {
        using var manager = CreateManager();
        var (one, two) = (await ConnectAsync(manager), await ConnectAsync(manager));

        await manager.SendAllAsync("Hello", ["World"]);

        Assert.Equal(["Hello World"], one.Received());
        Assert.Equal(["Hello World"], two.Received());
    }

    [Fact]
    public async Task SendAllAsync_does_not_write_to_a_disconnected_connection()
    {
        using var manager = CreateManager();
        var (one, two) = (await ConnectAsync(manager), await ConnectAsync(manager));
        await manager.OnDisconnectedAsync(two.Context);

        await manager.SendAllAsync("Hello", ["World"]);

        Assert.Equal(["Hello World"], one.Received());
        Assert.Empty(two.Received());
    }

    [Fact]
    public async Task SendAllExceptAsync_writes_to_every_connection_but_the_excluded()
    {
        using var manager = CreateManager();
        var (one, two, three) = (await ConnectAsync(manager), await ConnectAsync(manager), await ConnectAsync(manager));

        await manager.SendAllExceptAsync("Hello", ["World"], [two.Id, three.Id]);

        Assert.Equal(["Hello World"], one.Received());
        Assert.Empty(two.Received());
        Assert.Empty(three.Received());
    }

    [Fact]
    public async Task SendConnectionAsync_writes_to_that_connection_only_and_to_nobody_for_an_unknown_one()
    {
        using var manager = CreateManager();
        var (one, two) = (await ConnectAsync(manager), await ConnectAsync(manager));

        await manager.SendConnectionAsync(one.Id, "Hello", ["World"]);
        await manager.SendConnectionAsync("nobody", "Hello", ["again"]);

        Assert.Equal(["Hello World"], one.Received());
        Assert.Empty(two.Received());
    }

    [Fact]
    public async Task SendConnectionsAsync_writes_to_the_listed_connections_only()
    {
        using var manager = CreateManager();
        var (one, two, three) = (await ConnectAsync(manager), await ConnectAsync(manager), await ConnectAsync(manager));

        await manager.SendConnectionsAsync([one.Id, three.Id, "nobody"], "Hello", ["World"]);

        Assert.Equal(["Hello World"], one.Received());
        Assert.Empty(two.Received());
        Assert.Equal(["Hello World"], three.Received());
    }

    [Fact]
    public async Task SendGroupAsync_writes_to_the_members_of_the_group_only()
    {
        using var manager = CreateManager();
        var (one, two) = (await ConnectAsync(manager), await ConnectAsync(manager));
        await manager.AddToGroupAsync(one.Id, "group");

        await manager.SendGroupAsync("group", "Hello", ["World"]);
        await manager.SendGroupAsync("no such group", "Hello", ["again"]);

        Assert.Equal(["Hello World"], one.Received());
        Assert.Empty(two.Received());
    }

    [Fact]
    public async Task SendGroupsAsync_writes_once_per_named_group_a_connection_is_in_as_the_default_manager_does()
    {
        using var manager = CreateManager();
        var (one, two, three) = (await ConnectAsync(manager), await ConnectAsync(manager), await ConnectAsync(manager));
        await manager.AddToGroupAsync(one.Id, "a");
        await manager.AddToGroupAsync(one.Id, "b");
        await manager.AddToGroupAsync(two.Id, "b");

        await manager.SendGroupsAsync(["a", "b"], "Hello", ["World"]);

        Assert.Equal(["Hello World", "Hello World"], one.Received());
        Assert.Equal(["Hello World"], two.Received());
        Assert.Empty(three.Received());
        await Assert.ThrowsAsync<InvalidOperationException>(() => manager.SendGroupsAsync(["a", ""], "Hello", ["World"]));
    }

    [Fact]
    public async Task SendGroupExceptAsync_does_not_write_to_the_excluded_members()
    {
        using var manager = CreateManager();
        var (one, two) = (await ConnectAsync(manager), await ConnectAsync(manager));
        await manager.AddToGroupAsync(one.Id, "group");
        await manager.AddToGroupAsync(two.Id, "group");

        await manager.SendGroupExceptAsync("group", "Hello", ["World"], [two.Id]);

        Assert.Equal(["Hello World"], one.Received());
        Assert.Empty(two.Received());
    }

    [Fact]
    public async Task SendUserAsync_and_SendUsersAsync_write_to_every_connection_of_those_users()
    {
        using var manager = CreateManager();
        var (annOnPhone, annOnLaptop, bob, anonymous) = (await ConnectAsync(manager, "ann"), await ConnectAsync(manager, "ann"), await ConnectAsync(manager, "bob"), await ConnectAsync(manager));

        await manager.SendUserAsync("ann", "Hello", ["Ann"]);
        await manager.SendUsersAsync(["bob", "cy"], "Hello", ["Bob"]);

        Assert.Equal(["Hello Ann"], annOnPhone.Received());
        Assert.Equal(["Hello Ann"], annOnLaptop.Received());
        Assert.Equal(["Hello Bob"], bob.Received());
        Assert.Empty(anonymous.Received());
    }

    [Fact]
    public async Task A_connection_removed_from_a_group_or_disconnected_gets_no_more_of_its_messages_and_removing_twice_is_harmless()
    {
        using var manager = CreateManager();
        var (one, two) = (await ConnectAsync(manager), await ConnectAsync(manager));
        await manager.AddToGroupAsync(one.Id, "group");
        await manager.AddToGroupAsync(two.Id, "group");

        await manager.RemoveFromGroupAsync(one.Id, "group");
        await manager.RemoveFromGroupAsync(one.Id, "group");
        await manager.OnDisconnectedAsync(two.Context);
        await manager.SendGroupAsync("group", "Hello", ["World"]);

        Assert.Empty(one.Received());
        Assert.Empty(two.Received());
        Assert.False(manager.HasMembers("group"));
        Assert.Equal((0, false), manager.Membership(one.Id, "group"));
    }

    [Fact]
    public async Task InvokeConnectionAsync_returns_what_the_client_answers_and_fails_for_an_unknown_or_departed_connection()
    {
        using var manager = CreateManager();
        var one = await ConnectAsync(manager);

        var asking = manager.InvokeConnectionAsync<int>(one.Id, "HowMany", ["apples"]);
        var invocation = JsonDocument.Parse(one.Frames().Single()).RootElement;
        Assert.Equal("HowMany", invocation.GetProperty("target").GetString());
        var invocationId = invocation.GetProperty("invocationId").GetString()!;
        Assert.True(manager.TryGetReturnType(invocationId, out var type));
        Assert.Equal(typeof(int), type);
        await manager.SetConnectionResultAsync("someone else", CompletionMessage.WithResult(invocationId, 1));
        Assert.False(asking.IsCompleted);
        await manager.SetConnectionResultAsync(one.Id, CompletionMessage.WithResult(invocationId, 42));
        Assert.Equal(42, await asking.WaitAsync(TimeSpan.FromSeconds(5)));

        await Assert.ThrowsAsync<IOException>(() => manager.InvokeConnectionAsync<int>("nobody", "HowMany", []));
        var unanswered = manager.InvokeConnectionAsync<int>(one.Id, "HowMany", ["pears"]);
        await manager.OnDisconnectedAsync(one.Context);
        await Assert.ThrowsAsync<IOException>(() => unanswered.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_filtered_group_is_in_the_dispatch_index_from_its_first_member_to_its_last()
    {
        using var manager = CreateManager();
        var (one, two) = (await ConnectAsync(manager), await ConnectAsync(manager));
        var table = new TableName("public", "orders");
        var filter = RowFilter.Parse(JsonDocument.Parse("""[{"column":"total","op":"gt","value":10}]""").RootElement,
            new Dictionary<string, ColumnType> { ["total"] = ColumnType.Builtin("numeric") });
        var filtered = new FilteredGroup(table, null, filter);

        Assert.True(manager.Join(one.Id, filtered.Name, filtered));
        Assert.True(manager.Join(two.Id, filtered.Name, filtered));
        Assert.True(_filters.HasGroups(table));
        manager.Leave(one.Id, filtered.Name);
        Assert.True(_filters.HasGroups(table));
        await manager.OnDisconnectedAsync(two.Context);
        Assert.False(_filters.HasGroups(table));
    }

    [Fact]
    public async Task A_join_holds_what_the_group_sends_until_its_own_messages_are_out_and_marks_both_ends_for_a_client_that_asked()
    {
        using var manager = CreateManager();
        var (marked, plain) = (await ConnectAsync(manager, joinMarks: true), await ConnectAsync(manager));
        await manager.AddToGroupAsync(marked.Id, "group");
        await manager.AddToGroupAsync(plain.Id, "group");
        await manager.SendGroupAsync("group", "Live", ["1"]);

        using (manager.BeginJoin(marked.Id, "group"))
        using (manager.BeginJoin(plain.Id, "group"))
        {
            await manager.SendGroupAsync("group", "Live", ["2"]);
            await manager.SendInOrderAsync(marked.Id, [Frame("Replayed", "1"), Frame("Replayed", "2")], CancellationToken.None);
            await manager.SendInOrderAsync(plain.Id, [Frame("Replayed", "1"), Frame("Replayed", "2")], CancellationToken.None);
            await manager.SendGroupAsync("group", "Live", ["3"]);
            Assert.Equal(["Live 1", """JoinMark {"group":"group","end":false}""", "Replayed 1", "Replayed 2"], marked.Received());
            Assert.Equal(["Live 1", "Replayed 1", "Replayed 2"], plain.Received());
        }

        Assert.Equal(["""JoinMark {"group":"group","end":true}""", "Live 2", "Live 3"], marked.Received());
        Assert.Equal(["Live 2", "Live 3"], plain.Received());
    }

    [Fact]
    public async Task A_dispatch_round_writes_what_it_sent_each_connection_when_it_completes_in_order_and_before_a_join_begun_meanwhile()
    {
        using var manager = CreateManager();
        var (marked, plain, other) = (await ConnectAsync(manager, joinMarks: true), await ConnectAsync(manager), await ConnectAsync(manager));
        await manager.AddToGroupAsync(marked.Id, "group");
        await manager.AddToGroupAsync(plain.Id, "group");
        await manager.AddToGroupAsync(other.Id, "other");
        var round = new DispatchRound();

        manager.SendToGroup("group", Frame("Live", "1"), round);
        manager.SendToGroup("other", Frame("Live", "x"), round);
        manager.SendToGroup("group", Frame("Live", "2"), round);
        Assert.Empty(marked.Received());
        Assert.Empty(plain.Received());
        using (manager.BeginJoin(marked.Id, "group"))
        {
            manager.SendToGroup("group", Frame("Live", "3"), round);
            Assert.Equal(["Live 1", "Live 2", """JoinMark {"group":"group","end":false}"""], marked.Received());
        }
        round.Complete();

        Assert.Equal(["""JoinMark {"group":"group","end":true}""", "Live 3"], marked.Received());
        Assert.Equal(["Live 1", "Live 2", "Live 3"], plain.Received());
        Assert.Equal(["Live x"], other.Received());
        manager.SendToGroup("group", Frame("Live", "4"), round);
        round.Complete();
        Assert.Equal(["Live 4"], plain.Received());
    }

    [Fact]
    public void A_dispatch_round_joins_the_same_frames_once_for_every_connection_that_receives_exactly_those()
    {
        var protocol = new JsonHubProtocol();
        var (one, two, three) = (Frame("Live", "1"), Frame("Live", "2"), Frame("Live", "3"));
        var round = new DispatchRound();

        var joined = round.Joined([one, two], protocol)!;

        Assert.Same(joined, round.Joined([one, two], protocol));
        Assert.NotSame(joined, round.Joined([one, three], protocol));
        string Text(SerializedHubMessage message) => Encoding.UTF8.GetString(message.GetSerializedMessage(protocol).Span);
        Assert.Equal(Text(one) + Text(two), Text(joined));
    }

    [Fact]
    public void Frames_sent_in_order_are_written_in_order_in_joined_writes_of_at_most_64_KB_and_a_larger_frame_alone()
    {
        var protocol = new JsonHubProtocol();
        string Text(SerializedHubMessage message) => Encoding.UTF8.GetString(message.GetSerializedMessage(protocol).Span);
        SerializedHubMessage[] frames =
            [.. Enumerable.Range(0, 300).Select(i => Frame("Replayed", new string('r', i == 150 ? 70_000 : 400) + i))];

        var chunks = DispatchRound.Chunks(frames, protocol).ToList();

        Assert.Equal(string.Concat(frames.Select(Text)), string.Concat(chunks.Select(chunk => Text(chunk.Message))));
        Assert.Equal(frames.Length, chunks.Sum(chunk => chunk.Count));
        Assert.All(chunks, chunk => Assert.True(chunk.Count == 1 || chunk.Message.GetSerializedMessage(protocol).Length <= 64 * 1024));
        Assert.Contains(chunks, chunk => chunk.Count == 1 && Text(chunk.Message).EndsWith("150\"]}\u001e", StringComparison.Ordinal));
        Assert.InRange(chunks.Count, 4, 8);
    }

    [Fact]
    public async Task A_client_that_reads_nothing_is_cut_once_over_its_backlog_and_one_that_reads_is_not()
    {
        using var manager = CreateManager(maxBacklog: 16, stall: TimeSpan.FromMilliseconds(200));
        var (stalled, reading) = (await ConnectAsync(manager, readerBytes: 1024), await ConnectAsync(manager));
        await manager.AddToGroupAsync(stalled.Id, "group");
        await manager.AddToGroupAsync(reading.Id, "group");

        for (var i = 0; i < 400; i++) await manager.SendGroupAsync("group", "Hello", [new string('x', 100)]);

        var cut = new TaskCompletionSource();
        using (stalled.Context.ConnectionAborted.Register(() => cut.TrySetResult()))
        {
            await cut.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Equal(400, reading.Received().Count);
        Assert.False(reading.Context.ConnectionAborted.IsCancellationRequested);
    }

    [Fact]
    public async Task A_client_cut_for_not_reading_is_written_nothing_more_neither_what_its_join_held_nor_what_follows()
    {
        // A backlog far above what is unsent at the cut: only the cut itself can keep later writes from queuing.
        var client = new TestConnection(user: null, readerBytes: 1024, joinMarks: false);
        var cuts = 0;
        var outbox = new ConnectionOutbox(client.Context, new OutboxLimits(MaxBacklog: 1_000, StallMilliseconds: 200), marksJoins: false,
            (cutOutbox, _) =>
            {
                Interlocked.Increment(ref cuts);
                cutOutbox.Connection.Abort();
            });
        SerializedHubMessage[] page = [.. Enumerable.Range(0, 50).Select(i => Frame("Replayed", new string('r', 400)))];
        var join = outbox.BeginJoin("group", gap: null);
        for (var i = 0; i < 100; i++) outbox.Send(Frame("Held", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        await Assert.ThrowsAsync<OperationCanceledException>(() => outbox.SendInOrderAsync(page, CancellationToken.None));
        join.Dispose();
        for (var i = 0; i < 100; i++) outbox.Send(Frame("Live", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await Assert.ThrowsAsync<OperationCanceledException>(() => outbox.SendInOrderAsync(page, CancellationToken.None));

        Assert.Equal(1, cuts);
        Assert.All(client.Received(), frame => Assert.StartsWith("Replayed ", frame, StringComparison.Ordinal));
        Assert.InRange(outbox.Unsent, 0, page.Length);
    }

    [Fact]
    public async Task Only_a_connection_sent_nothing_for_the_keep_alive_interval_is_pinged()
    {
        using var manager = CreateManager(keepAlive: TimeSpan.FromSeconds(2));
        var (idle, busy) = (await ConnectAsync(manager), await ConnectAsync(manager));

        // Busy gets a message every 100 ms for 5 s, idle nothing: 2.5 intervals.
        for (var i = 0; i < 50; i++)
        {
            await manager.SendConnectionAsync(busy.Id, "Hello", [i.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await Task.Delay(100);
        }

        const string Ping = """{"type":6}""";
        var toIdle = idle.Frames();
        Assert.InRange(toIdle.Count, 1, 3);
        Assert.All(toIdle, frame => Assert.Equal(Ping, frame));
        var toBusy = busy.Frames();
        Assert.DoesNotContain(Ping, toBusy);
        Assert.Equal(50, toBusy.Count);
    }

    private static SerializedHubMessage Frame(string target, string argument) => new(new InvocationMessage(target, [argument]));

    private static async Task<TestConnection> ConnectAsync(ChangeLifetimeManager manager, string? user = null, long readerBytes = 1 << 20, bool joinMarks = false)
    {
        var connection = new TestConnection(user, readerBytes, joinMarks);
        await manager.OnConnectedAsync(connection.Context);
        return connection;
    }

    /// <summary>A hub connection in memory: what the server writes lands in a pipe (of <c>readerBytes</c>, past which
    /// writes wait, as a socket's would) that the test reads.</summary>
    private sealed class TestConnection
    {
        private readonly Pipe _toClient;
        private readonly StringBuilder _text = new();

        /// <param name="joinMarks">Whether the connection asks for join marks, as the Zgres clients do in the hub's address.</param>
        public TestConnection(string? user, long readerBytes, bool joinMarks)
        {
            _toClient = new Pipe(new PipeOptions(pauseWriterThreshold: readerBytes, resumeWriterThreshold: readerBytes / 2, useSynchronizationContext: false));
            var toServer = new Pipe();
            var transport = new DuplexPipe(toServer.Reader, _toClient.Writer);
            var application = new DuplexPipe(_toClient.Reader, toServer.Writer);
            var connection = new DefaultConnectionContext(Guid.NewGuid().ToString("N"), transport, application);
            var request = new DefaultHttpContext();
            if (joinMarks) request.Request.QueryString = new QueryString($"?{ChangeHubContract.JoinMarksQuery}=true");
            connection.Features.Set<IHttpContextFeature>(new HttpRequestFeature { HttpContext = request });
            Context = new HubConnectionContext(connection,
                new HubConnectionContextOptions { KeepAliveInterval = TimeSpan.FromMinutes(1), ClientTimeoutInterval = TimeSpan.FromMinutes(1) },
                NullLoggerFactory.Instance)
            {
                Protocol = new JsonHubProtocol(),
                UserIdentifier = user,
            };
        }

        public HubConnectionContext Context { get; }

        public string Id => Context.ConnectionId;

        /// <summary>The frames written since the last look, as JSON text.</summary>
        public List<string> Frames()
        {
            while (_toClient.Reader.TryRead(out var result))
            {
                foreach (var segment in result.Buffer) _text.Append(Encoding.UTF8.GetString(segment.Span));
                _toClient.Reader.AdvanceTo(result.Buffer.End);
                if (result.Buffer.IsEmpty) break;
            }
            // Only whole frames; the start of one still being written waits for the next look.
            var text = _text.ToString();
            var end = text.LastIndexOf('\u001e') + 1;
            _text.Remove(0, end);
            return [.. text[..end].Split('\u001e', StringSplitOptions.RemoveEmptyEntries)];
        }

        /// <summary>The invocations written since the last look, each as "target firstArgument" (a text argument as
        /// itself, any other as its JSON).</summary>
        public List<string> Received() => [.. Frames().Select(frame =>
        {
            var root = JsonDocument.Parse(frame).RootElement;
            var argument = root.GetProperty("arguments")[0];
            return $"{root.GetProperty("target").GetString()} {(argument.ValueKind == JsonValueKind.String ? argument.GetString() : argument.GetRawText())}";
        })];
    }

    /// <summary>The request a connection came with, where SignalR keeps it.</summary>
    private sealed class HttpRequestFeature : IHttpContextFeature
    {
        public HttpContext? HttpContext { get; set; }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}
