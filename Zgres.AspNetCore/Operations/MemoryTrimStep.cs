namespace Zgres.AspNetCore.Operations;

/// <summary>What <see cref="MemoryTrimPolicy"/> asks for at a reading.</summary>
internal enum MemoryTrimStep
{
    /// <summary>Nothing to do.</summary>
    Wait,

    /// <summary>Ask the collector what in the heap is alive: a background collection, which pauses clients for a few
    /// milliseconds where a trim pauses them for tens. A burst's objects outlive its young collections, and only a full
    /// one tells whether a trim would give their memory back.</summary>
    MeasureHeap,

    /// <summary>Give memory back: one aggressive full collection, which compacts the heap.</summary>
    Trim,
}
