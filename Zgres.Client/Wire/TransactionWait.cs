namespace Zgres.Client;

/// <summary>What a client asks the hub's <c>WaitForTransaction</c> method for (it also takes the bare <paramref name="Txid"/>).</summary>
/// <param name="Txid">The writer's transaction, as <c>pg_current_xact_id()</c> returned it.</param>
/// <param name="Timeout">How long to wait for the transaction to end, in milliseconds; the server bounds it
/// (<c>Zgres:Limits:MaxTransactionWait</c>) and uses that bound when it is null.</param>
public sealed record TransactionWait(string Txid, double? Timeout = null);
