namespace Zgres.AspNetCore.Operations;

/// <summary>What the garbage collector stands at: collections so far, the memory the last one left committed, the heap
/// it left without the gaps between objects (its objects, alive or not yet found dead), and the bytes the server has
/// allocated in all.</summary>
internal readonly record struct CollectionState(int Collections, long CommittedBytes, long HeapBytes, long AllocatedBytes);
