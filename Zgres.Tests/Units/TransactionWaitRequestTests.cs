using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hubs;

namespace Zgres.Tests.Units;

/// <summary>What <c>WaitForTransaction</c> accepts, and when a snapshot has seen a transaction end.</summary>
public sealed class TransactionWaitRequestTests
{
    [Theory]
    [InlineData("\"751\"", 751UL, null)]
    [InlineData("751", 751UL, null)]
    [InlineData("\"18446744073709551615\"", ulong.MaxValue, null)]
    [InlineData("""{ "txid": "4294968047", "timeout": 2500 }""", 4294968047UL, 2500.0)]
    [InlineData("""{ "TxId": 12, "Timeout": null }""", 12UL, null)]
    public void A_txid_is_taken_as_a_string_or_a_number_alone_or_with_a_timeout_in_milliseconds(string json, ulong txid, double? timeoutMilliseconds)
    {
        var request = TransactionWaitRequest.Parse(JsonDocument.Parse(json).RootElement);
        Assert.Equal(txid, request.Txid);
        Assert.Equal(timeoutMilliseconds, request.Timeout?.TotalMilliseconds);
    }

    [Theory]
    [InlineData("\"\"", "'' is not a transaction id")]
    [InlineData("\" 12\"", "' 12' is not a transaction id")]
    [InlineData("\"+12\"", "'+12' is not a transaction id")]
    [InlineData("\"12.0\"", "'12.0' is not a transaction id")]
    [InlineData("1e3", "'1e3' is not a transaction id")]
    [InlineData("\"١٢\"", "'١٢' is not a transaction id")]
    [InlineData("\"00000000000000000000012\"", "'00000000000000000000012' is not a transaction id")]
    [InlineData("\"18446744073709551616\"", "'18446744073709551616' is not a transaction id")]
    [InlineData("null", "A transaction id is required")]
    [InlineData("true", "The transaction id must be")]
    [InlineData("{}", "txid is required")]
    [InlineData("""{ "txid": "1", "timeout": 0 }""", "timeout must be a number of milliseconds above zero")]
    [InlineData("""{ "txid": "1", "timeout": "5s" }""", "timeout must be a number of milliseconds above zero")]
    [InlineData("""{ "txid": "1", "after": 5 }""", "A transaction wait has no property 'after'")]
    public void Anything_else_is_refused_with_a_message_that_says_what_was_expected(string json, string error)
    {
        var refusal = Assert.Throws<HubException>(() => TransactionWaitRequest.Parse(JsonDocument.Parse(json).RootElement));
        Assert.StartsWith(error, refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Below xmin: ended.
    [InlineData("100:105:101", 99UL, true)]
    // Open for the snapshot: not yet.
    [InlineData("100:105:101", 101UL, false)]
    // Below xmax and not open: ended.
    [InlineData("100:105:101", 102UL, true)]
    // At or above xmax: not begun or still running when the snapshot was taken.
    [InlineData("100:105:101", 105UL, false)]
    public void A_snapshot_has_seen_a_transaction_end_when_it_is_below_xmax_and_not_open(string snapshot, ulong txid, bool ended) =>
        Assert.Equal(ended, LogPosition.HasEnded(snapshot, txid));
}
