namespace Zgres.AspNetCore.Listening;

/// <summary>The startup self-test NOTIFY did not come back: this database connection never delivers notifications.</summary>
internal sealed class ListenerSelfTestException(string message) : Exception(message);
