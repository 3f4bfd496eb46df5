using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Zgres.Client;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.Hubs;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>An application that hosts the hub and sends through <see cref="IHubContext{THub}"/> reaches whom each send
/// names, as with SignalR's own lifetime manager, beside Zgres's own groups and events.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class HubContextTests(PostgresFixture database)
{
    [Fact]
    public async Task Every_send_of_IHubContext_reaches_the_connections_users_and_groups_it_names_and_no_one_else()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database, [table], settings: TestTokens.Settings);
        var tokens = new TestTokens();
        await using var ann = await Listener.ConnectAsync(server, tokens.Mint("ann"));
        await using var annAgain = await Listener.ConnectAsync(server, tokens.Mint("ann"));
        await using var bob = await Listener.ConnectAsync(server, tokens.Mint("bob"));
        await using var cy = await Listener.ConnectAsync(server, tokens.Mint("cy"));
        var hub = server.Services.GetRequiredService<IHubContext<ChangeHub>>();

        await hub.Groups.AddToGroupAsync(ann.Id, "team");
        await hub.Groups.AddToGroupAsync(bob.Id, "team");
        await hub.Clients.All.SendAsync("Note", "all");
        await hub.Clients.AllExcept([bob.Id]).SendAsync("Note", "all but bob");
        await hub.Clients.Client(cy.Id).SendAsync("Note", "cy");
        await hub.Clients.Clients([ann.Id, cy.Id]).SendAsync("Note", "ann and cy");
        await hub.Clients.Group("team").SendAsync("Note", "team");
        await hub.Clients.Groups(["team", "nobody's"]).SendAsync("Note", "teams");
        await hub.Clients.GroupExcept("team", [ann.Id]).SendAsync("Note", "team but ann");
        await hub.Clients.User("ann").SendAsync("Note", "user ann");
        await hub.Clients.Users(["bob", "cy"]).SendAsync("Note", "users bob and cy");
        await hub.Groups.RemoveFromGroupAsync(bob.Id, "team");
        await hub.Clients.Group("team").SendAsync("Note", "team without bob");
        await hub.Clients.All.SendAsync("Note", "end");

        Assert.Equal(["all", "all but bob", "ann and cy", "team", "teams", "user ann", "team without bob", "end"], await ann.NotesAsync());
        Assert.Equal(["all", "all but bob", "user ann", "end"], await annAgain.NotesAsync());
        Assert.Equal(["all", "team", "teams", "team but ann", "users bob and cy", "end"], await bob.NotesAsync());
        Assert.Equal(["all", "all but bob", "cy", "ann and cy", "users bob and cy", "end"], await cy.NotesAsync());

        // Client results: the application asks one connection and gets its answer.
        Assert.Equal(42, await hub.Clients.Client(cy.Id).InvokeAsync<int>("HowMany", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

        // Zgres's own traffic goes on beside the application's.
        var changes = new TaskCompletionSource<ChangeEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        cy.Connection.On<ChangeEvent>(nameof(IChangeClient.Change), change => changes.TrySetResult(change));
        await cy.Connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe, new Subscription(table, null));
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'row')");
        Assert.Equal("row", (await changes.Task.WaitAsync(TimeSpan.FromSeconds(20))).Data.GetProperty("value").GetString());
    }

    /// <summary>A plain SignalR client that records the notes the application sends it and answers <c>HowMany</c>.</summary>
    private sealed class Listener : IAsyncDisposable
    {
        private readonly List<string> _notes = [];
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private Listener(HubConnection connection) => Connection = connection;

        public HubConnection Connection { get; }

        public string Id => Connection.ConnectionId!;

        public static async Task<Listener> ConnectAsync(ZgresTestServer server, string token)
        {
            var connection = new HubConnectionBuilder()
                .WithUrl(new Uri(server.Address, ChangeHubContract.Path), options => options.AccessTokenProvider = () => Task.FromResult<string?>(token))
                .Build();
            var listener = new Listener(connection);
            connection.On<string>("Note", note =>
            {
                lock (listener._notes) listener._notes.Add(note);
                if (note == "end") listener._ended.TrySetResult();
            });
            connection.On("HowMany", () => 42);
            await connection.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
            // The client is started once the server answered its handshake, which SignalR does before it hands the
            // connection to the lifetime manager: a send in between reaches no one, with any lifetime manager.
            var clients = server.Services.GetRequiredService<ChangeLifetimeManager>();
            await Eventually.WaitUntilAsync(() => clients.Connections.Any(known => known.ConnectionId == connection.ConnectionId),
                "the server to know the connection");
            return listener;
        }

        /// <summary>The notes received up to and including <c>end</c>.</summary>
        public async Task<List<string>> NotesAsync()
        {
            await _ended.Task.WaitAsync(TimeSpan.FromSeconds(20));
            lock (_notes) return [.. _notes];
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}
