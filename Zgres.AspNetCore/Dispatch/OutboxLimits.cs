namespace Zgres.AspNetCore.Dispatch;

/// <summary>What a connection may leave unsent: past <paramref name="MaxBacklog"/> messages with no write finished for
/// <paramref name="StallMilliseconds"/> (or past ten times that backlog whatever it does), it is cut.</summary>
internal readonly record struct OutboxLimits(int MaxBacklog, long StallMilliseconds);
