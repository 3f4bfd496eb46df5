using System.Text.Json;
using System.Text.Json.Serialization;

namespace Zgres.Client;

/// <summary>Source-generated serialization for every wire type, shared by server and client.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChangeEvent))]
[JsonSerializable(typeof(Subscription))]
[JsonSerializable(typeof(SubscribeResult))]
[JsonSerializable(typeof(TransactionWait))]
[JsonSerializable(typeof(ExposedTable[]))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(IReadOnlyList<FilterCondition>))]
public sealed partial class ZgresJsonContext : JsonSerializerContext;
