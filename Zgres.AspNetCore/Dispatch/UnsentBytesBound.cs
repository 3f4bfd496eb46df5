using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.SignalR;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// Bounds what a connection's socket holds that it has not sent yet (<c>TCP_NOTSENT_LOWAT</c>, on Linux). Left alone,
/// Linux lets the send buffer of a client that reads slowly grow to <c>net.ipv4.tcp_wmem</c>'s maximum (4 MB by
/// default), rows read and framed a minute ahead of it, and wakes the writer only once a third of that has drained: a
/// client reading a snapshot at 64 KB/s took nothing for 20 s at a time, as far as the server could see, and was cut as
/// stalled. Bounded, the socket takes more each time half the bound has gone, so a slow reader's progress shows. Bytes
/// in flight, which the network's window governs, are not bounded: a fast client far away is not slowed.
/// </summary>
internal static class UnsentBytesBound
{
    /// <summary>Unsent bytes a socket may hold: two pages of a snapshot or replay, some 0.1 s of live events at saturation.</summary>
    public const int Bytes = 128 * 1024;

    private const int IpProtocolTcp = 6;
    private const int TcpNotSentLowWatermark = 25;

    /// <summary>Sets the bound on <paramref name="connection"/>'s socket, when it is a TCP socket on Linux.</summary>
    public static void Apply(HubConnectionContext connection)
    {
        if (!OperatingSystem.IsLinux()) return;
        if (connection.GetHttpContext()?.Features.Get<IConnectionSocketFeature>()?.Socket is not { ProtocolType: ProtocolType.Tcp } socket) return;
        try
        {
            socket.SetRawSocketOption(IpProtocolTcp, TcpNotSentLowWatermark, BitConverter.GetBytes(Bytes));
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Closed already: nothing to bound.
        }
    }
}
