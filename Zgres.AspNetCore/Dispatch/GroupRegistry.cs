using System.Collections.Concurrent;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// Who is in which group. A group exists while it has members: its first member creates it, with the definition it
/// joined with (a <see cref="Filtering.FilteredGroup"/> for a filtered group), and its last one empties it; both are
/// told to <c>created</c> and <c>emptied</c> under the registry's lock, so whatever follows the groups (the filter
/// index) never disagrees with membership. Member lists are copy-on-write arrays: a send walks one without locks or
/// allocations.
/// </summary>
internal sealed class GroupRegistry(Action<string, object?> created, Action<string, object?> emptied)
{
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, Group> _groups = new(StringComparer.Ordinal);
    // Touched under the lock only.
    private readonly Dictionary<string, HashSet<string>> _byConnection = new(StringComparer.Ordinal);

    private sealed record Group(ConnectionOutbox[] Members, object? Definition);

    /// <summary>Adds <paramref name="member"/> to <paramref name="group"/>; false when it was a member already.</summary>
    public bool Add(ConnectionOutbox member, string group, object? definition = null)
    {
        lock (_lock)
        {
            if (!_byConnection.TryGetValue(member.ConnectionId, out var joined)) _byConnection[member.ConnectionId] = joined = new(StringComparer.Ordinal);
            if (!joined.Add(group)) return false;
            if (_groups.TryGetValue(group, out var current))
            {
                _groups[group] = current with { Members = [.. current.Members, member] };
                return true;
            }
            _groups[group] = new Group([member], definition);
            created(group, definition);
            return true;
        }
    }

    /// <summary>Removes <paramref name="member"/> from <paramref name="group"/>; false when it was not a member.</summary>
    public bool Remove(ConnectionOutbox member, string group)
    {
        lock (_lock)
        {
            if (!_byConnection.TryGetValue(member.ConnectionId, out var joined) || !joined.Remove(group)) return false;
            if (joined.Count == 0) _byConnection.Remove(member.ConnectionId);
            Leave(member, group);
            return true;
        }
    }

    /// <summary>Removes <paramref name="member"/> from every group (it disconnected).</summary>
    public void RemoveAll(ConnectionOutbox member)
    {
        lock (_lock)
        {
            if (!_byConnection.Remove(member.ConnectionId, out var joined)) return;
            foreach (var group in joined) Leave(member, group);
        }
    }

    private void Leave(ConnectionOutbox member, string group)
    {
        if (!_groups.TryGetValue(group, out var current)) return;
        var remaining = Array.FindAll(current.Members, m => m != member);
        if (remaining.Length > 0)
        {
            _groups[group] = current with { Members = remaining };
            return;
        }
        _groups.TryRemove(group, out _);
        emptied(group, current.Definition);
    }

    /// <summary>The group's members now (none when it does not exist).</summary>
    public ConnectionOutbox[] Members(string group) => _groups.TryGetValue(group, out var found) ? found.Members : [];

    public bool HasMembers(string group) => _groups.ContainsKey(group);

    /// <summary>The groups whose name starts with <paramref name="prefix"/>: a walk over every group, for rare events.</summary>
    public IEnumerable<string> GroupsStartingWith(string prefix) => _groups.Keys.Where(group => group.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>How many members each group has now.</summary>
    public IEnumerable<(string Group, int Members)> Sizes() => _groups.Select(group => (group.Key, group.Value.Members.Length));

    /// <summary>How many groups the connection is in, and whether <paramref name="group"/> is one of them.</summary>
    public (int Count, bool IsMember) Membership(string connectionId, string group)
    {
        lock (_lock) return _byConnection.TryGetValue(connectionId, out var joined) ? (joined.Count, joined.Contains(group)) : (0, false);
    }
}
