using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.Server.Hosting;

namespace Zgres.Server.Listening;

/// <summary>An event handed from the listener to the dispatcher; <see cref="Event"/> is null when only its id was notified.</summary>
public readonly record struct FeedItem(long Id, ChangeEvent? Event);

/// <summary>
/// The bounded queue between the listener (one writer, in commit order) and the dispatcher (one reader). When it is
/// full the listener stops reading its connection instead of dropping events.
/// </summary>
public sealed class ChangeFeed(IOptions<ZgresOptions> options)
{
    private readonly Channel<FeedItem> _channel = Channel.CreateBounded<FeedItem>(new BoundedChannelOptions(options.Value.Listener.BufferCapacity)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    public ChannelWriter<FeedItem> Writer => _channel.Writer;

    public ChannelReader<FeedItem> Reader => _channel.Reader;
}
