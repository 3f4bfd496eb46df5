using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Security;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Demo;

/// <summary>
/// The demo page's writer: insert, update and delete rows of the demo table <c>public.inputs</c>, so a newcomer can
/// make changes and watch them stream back. It exists only while the server runs its own embedded database and
/// watches that table; against a configured database it answers 404, because writing to someone's real data from a
/// web page is not a demo.
/// </summary>
internal static class DemoEndpoints
{
    /// <summary>Longest <c>value</c> the writer accepts, in characters.</summary>
    public const int MaxValueLength = 1_000;

    private const string Columns = "id, input_id, value, created_at";

    /// <summary>Maps <c>GET /api/demo</c> (is the writer on, and how to reach the embedded database with psql) and,
    /// behind it, <c>POST /api/demo/inputs</c>, <c>PUT /api/demo/inputs/{id}</c> and <c>DELETE /api/demo/inputs/{id}</c>.</summary>
    public static WebApplication Map(WebApplication app)
    {
        app.MapGet("/api/demo", GetStatus);
        var inputs = app.MapGroup("/api/demo/inputs").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!IsEnabled(http, http.RequestServices.GetRequiredService<ZgresDatabase>(), http.RequestServices.GetRequiredService<TableCatalog>()))
            {
                return TypedResults.NotFound(Problem(StatusCodes.Status404NotFound,
                    "The demo writer is available only when Zgres runs its embedded database (no ConnectionStrings:Postgres), to callers on this machine."));
            }
            // Even an origin listed in Zgres:AllowedOrigins may only read: writing is for this server's own page.
            return OriginCheck.IsSameOriginOrNone(http.Request)
                ? await next(context)
                : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: "The demo writer answers this server's own page only.");
        });
        inputs.MapPost("/", InsertAsync);
        inputs.MapPut("/{id:long}", UpdateAsync);
        inputs.MapDelete("/{id:long}", DeleteAsync);
        return app;
    }

    // The catalog check matters too: with Zgres:Tables set, the embedded default neither creates nor watches the table.
    // Only loopback callers get the writer and the psql line (which holds the password): with Urls opened to a
    // network, the page still works read-only for everyone else.
    private static bool IsEnabled(HttpContext http, ZgresDatabase database, TableCatalog catalog) =>
        database.Embedded is not null && catalog.TryGet(DemoTable.Name, out _)
        && http.Connection.RemoteIpAddress is { } caller && System.Net.IPAddress.IsLoopback(caller);

    private static Ok<DemoStatus> GetStatus(HttpContext http, ZgresDatabase database, TableCatalog catalog) =>
        TypedResults.Ok(IsEnabled(http, database, catalog)
            ? new DemoStatus(true, DemoTable.Name.ToString(), $"psql \"{database.Embedded!.Url}\"")
            : new DemoStatus(false, null, null));

    private static async Task<Results<Created<DemoRow>, BadRequest<ProblemDetails>>> InsertAsync(
        HttpRequest request, ZgresDatabase database, CancellationToken cancellationToken)
    {
        var (body, error) = await ReadBodyAsync<NewDemoInput>(request, """{ "inputId": 42, "value": "hello" }""", cancellationToken);
        error ??= body!.InputId is null ? "inputId is required: a whole number such as 42." : CheckValue(body.Value);
        if (error is not null) return TypedResults.BadRequest(Problem(StatusCodes.Status400BadRequest, error));

        await using var command = database.DataSource.CreateCommand(
            $"INSERT INTO {DemoTable.Name.Quoted} (input_id, value) VALUES ($1, $2) RETURNING {Columns}");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = body!.InputId!.Value });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = body.Value });
        var row = await ReadRowAsync(command, cancellationToken);
        return TypedResults.Created($"/api/demo/inputs/{row!.Id}", row);
    }

    private static async Task<Results<Ok<DemoRow>, BadRequest<ProblemDetails>, NotFound<ProblemDetails>>> UpdateAsync(
        long id, HttpRequest request, ZgresDatabase database, CancellationToken cancellationToken)
    {
        var (body, error) = await ReadBodyAsync<DemoValue>(request, """{ "value": "hello again" }""", cancellationToken);
        error ??= CheckId(id) ?? CheckValue(body!.Value);
        if (error is not null) return TypedResults.BadRequest(Problem(StatusCodes.Status400BadRequest, error));

        await using var command = database.DataSource.CreateCommand($"UPDATE {DemoTable.Name.Quoted} SET value = $2 WHERE id = $1 RETURNING {Columns}");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = body!.Value });
        return await ReadRowAsync(command, cancellationToken) is { } row
            ? TypedResults.Ok(row)
            : TypedResults.NotFound(NoSuchRow(id));
    }

    private static async Task<Results<NoContent, BadRequest<ProblemDetails>, NotFound<ProblemDetails>>> DeleteAsync(
        long id, ZgresDatabase database, CancellationToken cancellationToken)
    {
        if (CheckId(id) is { } error) return TypedResults.BadRequest(Problem(StatusCodes.Status400BadRequest, error));

        await using var command = database.DataSource.CreateCommand($"DELETE FROM {DemoTable.Name.Quoted} WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0
            ? TypedResults.NoContent()
            : TypedResults.NotFound(NoSuchRow(id));
    }

    /// <summary>Reads the JSON body, turning every way it can be unreadable into one clear sentence (the framework's own
    /// binding answers a bare 400 instead).</summary>
    private static async Task<(T? Body, string? Error)> ReadBodyAsync<T>(HttpRequest request, string example, CancellationToken cancellationToken)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, $"Send a JSON body (Content-Type: application/json) such as {example}.");
        }
        try
        {
            return await request.ReadFromJsonAsync<T>(cancellationToken) is { } body
                ? (body, null)
                : (null, $"The body must be a JSON object such as {example}.");
        }
        catch (JsonException exception)
        {
            var where = exception.Path is { Length: > 1 } path ? $" at {path}" : "";
            return (null, $"The body is not valid{where}: expected a JSON object such as {example}.");
        }
    }

    private static string? CheckId(long id) => id > 0 ? null : $"id must be a row id (1 or more), not {id}.";

    private static string? CheckValue(string? value) => value switch
    {
        null => "value is required: a text of 1 to 1000 characters.",
        { Length: 0 } => "value must not be empty.",
        { Length: > MaxValueLength } => $"value is {value.Length} characters long; at most {MaxValueLength} are allowed.",
        _ => null,
    };

    private static async Task<DemoRow?> ReadRowAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new DemoRow(
            reader.GetInt64(0),
            reader.IsDBNull(1) ? null : reader.GetInt32(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
    }

    private static ProblemDetails NoSuchRow(long id) => Problem(StatusCodes.Status404NotFound, $"There is no row with id {id} in {DemoTable.Name}.");

    private static ProblemDetails Problem(int status, string detail) => new()
    {
        Status = status,
        Title = status == StatusCodes.Status404NotFound ? "Not found" : "Bad request",
        Detail = detail,
    };
}

/// <summary><c>GET /api/demo</c>: whether the writer is on, the table it writes, and a psql command for the embedded database.</summary>
internal sealed record DemoStatus(bool Enabled, string? Table, string? Psql);

/// <summary>The body of <c>POST /api/demo/inputs</c>.</summary>
internal sealed record NewDemoInput(int? InputId, string? Value);

/// <summary>The body of <c>PUT /api/demo/inputs/{id}</c>.</summary>
internal sealed record DemoValue(string? Value);

/// <summary>A row of the demo table as written.</summary>
internal sealed record DemoRow(long Id, int? InputId, string? Value, DateTimeOffset? CreatedAt);
