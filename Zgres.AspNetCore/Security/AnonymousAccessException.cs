namespace Zgres.AspNetCore.Security;

/// <summary>The server would serve anonymous clients beyond loopback.</summary>
internal sealed class AnonymousAccessException(string message) : InvalidOperationException(message);
