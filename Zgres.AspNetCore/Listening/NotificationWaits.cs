using System.Data;
using Npgsql;

namespace Zgres.AspNetCore.Listening;

/// <summary>Timed waits for notifications on a LISTEN connection.</summary>
internal static class NotificationWaits
{
    /// <summary>
    /// Waits for a notification, at most <paramref name="timeout"/>; returns whether one came. Npgsql (10.0) reports a
    /// timeout that strikes in the middle of a notification (its first bytes in, the rest still on the network) as a
    /// plain timeout, having broken the connection, which can no longer follow the protocol: the next command on it
    /// would fail with "Connection is not open", which no caller takes for the break it is. That case throws as a break.
    /// </summary>
    public static async Task<bool> WaitAtMostAsync(this NpgsqlConnection connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await connection.WaitAsync(timeout, cancellationToken)) return true;
        if (connection.State != ConnectionState.Open)
        {
            throw new NpgsqlException("the connection broke while a notification was arriving: a wait for notifications timed out in the middle of one");
        }
        return false;
    }
}
