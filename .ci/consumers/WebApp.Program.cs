// A new ASP.NET Core app (dotnet new web) that hosts Zgres from the Zgres.AspNetCore package, beside its own endpoint.
// Its database and table come from its configuration (ConnectionStrings:Postgres, Zgres:Tables).
using Zgres.AspNetCore.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddZgres(builder.Configuration);

var app = builder.Build();
app.MapGet("/hello", () => "the host app's own endpoint");
app.MapZgres();
app.Run();
