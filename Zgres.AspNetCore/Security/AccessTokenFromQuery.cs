using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Zgres.Client;

namespace Zgres.AspNetCore.Security;

/// <summary>
/// Browsers cannot set headers on a WebSocket, so SignalR clients send the token as <c>access_token</c> in the query
/// string. This moves it into the <c>Authorization</c> header of hub requests and out of every request's URL before
/// anything sees the request: the hosting layer's "Request starting" log, request logging and traces print the URL,
/// and must never print a token.
/// </summary>
internal sealed class AccessTokenFromQuery(IHttpContextFactory inner) : IHttpContextFactory
{
    public const string Parameter = "access_token";

    public HttpContext Create(IFeatureCollection featureCollection)
    {
        var request = featureCollection.Get<IHttpRequestFeature>();
        if (request is not null && request.QueryString.Contains(Parameter, StringComparison.OrdinalIgnoreCase)) Move(request);
        return inner.Create(featureCollection);
    }

    public void Dispose(HttpContext httpContext) => inner.Dispose(httpContext);

    private static void Move(IHttpRequestFeature request)
    {
        var query = QueryHelpers.ParseQuery(request.QueryString);
        var token = query.FirstOrDefault(pair => string.Equals(pair.Key, Parameter, StringComparison.OrdinalIgnoreCase));
        if (token.Key is null) return;
        query.Remove(token.Key);
        if (((PathString)request.Path).StartsWithSegments(ChangeHubContract.Path, StringComparison.OrdinalIgnoreCase)
            && !request.Headers.ContainsKey("Authorization") && token.Value.Count == 1)
        {
            request.Headers.Authorization = "Bearer " + token.Value[0];
        }
        var rest = QueryString.Create(query).ToUriComponent();
        request.QueryString = rest;
        request.RawTarget = request.Path + rest;
    }
}
