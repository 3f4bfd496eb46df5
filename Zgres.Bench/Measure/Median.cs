namespace Zgres.Bench.Measure;

/// <summary>The figure the interleaved-round scenarios report: robust to one round disturbed by the machine.</summary>
internal static class Median
{
    /// <summary>The middle value (the mean of the two middle ones for an even count); NaN when there is none.</summary>
    public static double Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
