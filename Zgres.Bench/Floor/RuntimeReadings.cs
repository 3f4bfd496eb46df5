using System.Globalization;
using System.Runtime;
using System.Text;

namespace Zgres.Bench.Floor;

/// <summary>
/// The floor's <c>/metrics</c>: the runtime's own figures that the bench reads from a Zgres server (see
/// <see cref="Measure.ServerReading"/>), under the names Zgres's exporter gives them and counted as the runtime's meter
/// counts them (a collection under the oldest generation it collected), so that both columns show the same rows.
/// </summary>
internal static class RuntimeReadings
{
    public static string Prometheus()
    {
        var text = new StringBuilder();
        void Line(string series, double value) => text.Append(CultureInfo.InvariantCulture, $"{series} {value}\n");
        long older = 0;
        for (var generation = GC.MaxGeneration; generation >= 0; generation--)
        {
            var collections = GC.CollectionCount(generation);
            Line($"dotnet_gc_collections_total{{gc_heap_generation=\"gen{generation}\"}}", collections - older);
            older = collections;
        }
        Line("dotnet_gc_pause_time_seconds_total", GC.GetTotalPauseDuration().TotalSeconds);
        Line("dotnet_gc_heap_total_allocated_bytes_total", GC.GetTotalAllocatedBytes());
        Line("dotnet_jit_compiled_methods_total", JitInfo.GetCompiledMethodCount());
        Line("dotnet_jit_compilation_time_seconds_total", JitInfo.GetCompilationTime().TotalSeconds);
        return text.ToString();
    }
}
