using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Zgres.Client.Rows;

/// <summary>How rows bind when the user gives no metadata of their own: snake_case columns to PascalCase properties
/// (any case), enums from their labels (snake_case or as written), numbers never read from strings. Reflection-based,
/// so trimmed and native AOT apps pass a <see cref="JsonTypeInfo{T}"/> from a source-generated context instead.</summary>
internal static class RowJson
{
    private const string Reflection = "Rows are bound with System.Text.Json's reflection; pass a JsonTypeInfo<T> from a source-generated JsonSerializerContext instead.";

    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    private static JsonSerializerOptions CreateDefaultOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            PropertyNameCaseInsensitive = true,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>The metadata of <typeparamref name="T"/> in <paramref name="options"/> (the defaults when null).</summary>
    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    public static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerOptions? options)
    {
        options ??= Defaults.Options;
        if (!options.IsReadOnly) options.MakeReadOnly(populateMissingResolver: true);
        return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
    }

    // Built once: System.Text.Json caches each type's metadata in its options, and these never change once built.
    [RequiresUnreferencedCode(Reflection)]
    [RequiresDynamicCode(Reflection)]
    private static class Defaults
    {
        public static readonly JsonSerializerOptions Options = CreateDefaultOptions();
    }
}
