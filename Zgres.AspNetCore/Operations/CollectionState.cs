namespace Zgres.AspNetCore.Operations;

/// <summary>What the garbage collector stands at: collections so far, the memory the last one left committed and the heap
/// it left (live objects and the gaps between them), and the bytes the server has allocated in all.</summary>
internal readonly record struct CollectionState(int Collections, long CommittedBytes, long HeapBytes, long AllocatedBytes);
