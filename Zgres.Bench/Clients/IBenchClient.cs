namespace Zgres.Bench.Clients;

/// <summary>One live client connection of a run, subscribed to one input or to the whole table.</summary>
internal interface IBenchClient : IAsyncDisposable
{
    /// <summary>True while the connection is up.</summary>
    bool IsOpen { get; }
}
