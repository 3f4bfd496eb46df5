namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>Compares sequences of ids by their items, so that a dictionary keyed by them can be searched with a span
/// (<see cref="Dictionary{TKey, TValue}.GetAlternateLookup{TAlternateKey}"/>), allocating a key only when it adds one.</summary>
internal sealed class IdSequenceComparer : IEqualityComparer<int[]>, IAlternateEqualityComparer<ReadOnlySpan<int>, int[]>
{
    public static readonly IdSequenceComparer Instance = new();

    private IdSequenceComparer()
    {
    }

    public bool Equals(int[]? x, int[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(int[] obj) => GetHashCode((ReadOnlySpan<int>)obj);

    public bool Equals(ReadOnlySpan<int> alternate, int[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<int> alternate)
    {
        var hash = new HashCode();
        foreach (var id in alternate) hash.Add(id);
        return hash.ToHashCode();
    }

    public int[] Create(ReadOnlySpan<int> alternate) => alternate.ToArray();
}
