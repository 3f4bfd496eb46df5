using Zgres.AspNetCore.Hosting;

// The content root is the app's own folder, so the build output runs from anywhere with its settings and web root.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddZgres(builder.Configuration);

var app = builder.Build();
app.MapZgres();
return await app.RunZgresAsync(args);
