using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Zgres.Client.Connection;

/// <summary>
/// The JSON hub protocol, numbering every <c>Change</c> and <c>JoinMark</c> frame as it is parsed and stamping each answer
/// to this client's own requests with the number of those frames parsed before it.
/// </summary>
/// <remarks>
/// SignalR's .NET client parses frames on its receive loop, completes invocations right there, and runs <c>Change</c>
/// handlers on a loop of their own that lags behind. So when an answer is seen, events the server sent before it may
/// not have been routed yet; from the answer's number the client knows exactly which ones (those numbered up to it),
/// and a join (its replay, its snapshot, even when refused) lasts until routing has passed them. An error answer becomes
/// an ordinary result carrying the error, so that a refusal is numbered too. One instance per connection: the numbers
/// start at 0 on each.
/// </remarks>
internal sealed class FrameNumberingProtocol(IHubProtocol json) : IHubProtocol
{
    private long _frames;
    private NumberingBinder? _binder;

    public string Name => json.Name;

    public int Version => json.Version;

    public TransferFormat TransferFormat => json.TransferFormat;

    public bool IsVersionSupported(int version) => json.IsVersionSupported(version);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => json.WriteMessage(message, output);

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => json.GetMessageBytes(message);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        // The connection passes the same binder on every call; wrapping it once keeps parsing allocation-free.
        var numbering = _binder?.Inner == binder ? _binder : _binder = new NumberingBinder(binder);
        if (!json.TryParseMessage(ref input, numbering, out message)) return false;
        message = message switch
        {
            InvocationMessage { Target: nameof(IChangeClient.Change), Arguments: [ChangeEvent change] } invocation =>
                new InvocationMessage(invocation.InvocationId, invocation.Target, [new NumberedChange(change, ++_frames)], invocation.StreamIds),
            InvocationMessage { Target: ChangeHubContract.JoinMark, Arguments: [JsonElement mark] } invocation =>
                new InvocationMessage(invocation.InvocationId, invocation.Target, [new NumberedJoinMark(IsEnd(mark), ++_frames, Gap(mark))], invocation.StreamIds),
            CompletionMessage { InvocationId: { } id } completion when numbering.IsNumberedAnswer(id) =>
                CompletionMessage.WithResult(id, new HubAnswer(completion.HasResult && completion.Result is JsonElement result ? result : default, _frames, completion.Error)),
            _ => message,
        };
        return true;
    }

    private static bool IsEnd(JsonElement mark) =>
        mark.ValueKind == JsonValueKind.Object && mark.TryGetProperty("end", out var end) && end.ValueKind == JsonValueKind.True;

    private static bool? Gap(JsonElement mark) =>
        mark.ValueKind == JsonValueKind.Object && mark.TryGetProperty("gap", out var gap) && gap.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? gap.ValueKind == JsonValueKind.True
            : null;

    /// <summary>Tells the JSON protocol the wire types behind the numbered ones the connection registered.</summary>
    private sealed class NumberingBinder(IInvocationBinder inner) : IInvocationBinder
    {
        private static readonly Type[] ChangeParameters = [typeof(ChangeEvent)];
        private static readonly Type[] JoinMarkParameters = [typeof(JsonElement)];

        public IInvocationBinder Inner => inner;

        public Type GetReturnType(string invocationId)
        {
            var type = inner.GetReturnType(invocationId);
            return type == typeof(HubAnswer) ? typeof(JsonElement) : type;
        }

        public IReadOnlyList<Type> GetParameterTypes(string methodName)
        {
            var types = inner.GetParameterTypes(methodName);
            return types switch
            {
                [var only] when only == typeof(NumberedChange) => ChangeParameters,
                [var only] when only == typeof(NumberedJoinMark) => JoinMarkParameters,
                _ => types,
            };
        }

        public Type GetStreamItemType(string streamId) => inner.GetStreamItemType(streamId);

        public string? GetTarget(ReadOnlySpan<byte> utf8Bytes) => inner.GetTarget(utf8Bytes);

        /// <summary>Whether the invocation is one of this client's numbered requests; false for one no longer awaited
        /// (SignalR drops its answer itself).</summary>
        public bool IsNumberedAnswer(string invocationId)
        {
            try
            {
                return inner.GetReturnType(invocationId) == typeof(HubAnswer);
            }
            catch (KeyNotFoundException)
            {
                return false;
            }
        }
    }
}
