namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>The database does not allow capture from the WAL, or its slot belongs elsewhere; the message says what to change.</summary>
internal sealed class WalCaptureException(string message) : InvalidOperationException(message);
