namespace Zgres.Client.Connection;

/// <summary>A <c>Change</c> event and its number among the connection's numbered frames (from 1).</summary>
internal sealed record NumberedChange(ChangeEvent Change, long Number);
