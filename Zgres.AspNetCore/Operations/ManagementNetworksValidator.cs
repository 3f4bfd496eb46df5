using System.Net;
using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Operations;

/// <summary>A network that does not parse stops the server at start, naming it, rather than leaving the endpoints closed.</summary>
internal sealed class ManagementNetworksValidator : IValidateOptions<OperationsOptions>
{
    public ValidateOptionsResult Validate(string? name, OperationsOptions options)
    {
        var bad = options.AllowedNetworks.Where(network => !IPNetwork.TryParse(network, out _)).ToList();
        return bad.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{OperationsOptions.Section}:AllowedNetworks: {string.Join(", ", bad.Select(n => $"'{n}'"))} is not a network in CIDR notation (for example 10.0.0.0/8 or fd00::/8).");
    }
}
