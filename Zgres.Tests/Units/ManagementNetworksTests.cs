using System.Net;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Operations;

namespace Zgres.Tests.Units;

/// <summary>Who may read the health and metrics endpoints.</summary>
public sealed class ManagementNetworksTests
{
    private static ManagementNetworks With(params string[] networks) =>
        new(Options.Create(new OperationsOptions { AllowedNetworks = [.. networks] }));

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public void Loopback_callers_are_always_allowed(string caller) =>
        Assert.True(With().Allows(IPAddress.Parse(caller)));

    [Theory]
    [InlineData("203.0.113.7")]
    [InlineData("2001:db8::7")]
    [InlineData("::ffff:203.0.113.7")]
    public void Other_callers_are_refused_by_default(string caller) =>
        Assert.False(With().Allows(IPAddress.Parse(caller)));

    [Theory]
    [InlineData("203.0.113.7", true)]
    [InlineData("::ffff:203.0.113.7", true)]
    [InlineData("203.0.114.7", false)]
    [InlineData("2001:db8::7", true)]
    [InlineData("2001:db9::7", false)]
    public void Callers_in_an_allowed_network_are_allowed_whether_they_come_as_ipv4_or_ipv4_mapped_ipv6(string caller, bool allowed) =>
        Assert.Equal(allowed, With("203.0.113.0/24", "2001:db8::/32").Allows(IPAddress.Parse(caller)));

    [Fact]
    public void A_caller_without_an_address_is_refused() =>
        Assert.False(With("0.0.0.0/0").Allows(null));

    [Fact]
    public void A_network_that_does_not_parse_fails_validation_naming_it()
    {
        var result = new ManagementNetworksValidator().Validate(null, new OperationsOptions { AllowedNetworks = ["10.0.0.0/8", "10.0.0.0/33", "office"] });

        Assert.True(result.Failed);
        Assert.Contains("'10.0.0.0/33', 'office'", result.FailureMessage, StringComparison.Ordinal);
    }
}
