namespace Zgres.Bench.Hosting;

/// <summary>Finds files that sit beside the tool in the repository (the seed baseline, the JavaScript client), looking
/// from the current folder and from the tool's own folder upwards, so the tool runs from its build output or the
/// repository alike.</summary>
internal static class RepositoryFiles
{
    /// <summary>The full path of <paramref name="relativePath"/> in the nearest folder above that holds it, or null.</summary>
    public static string? FindAbove(string relativePath)
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relativePath);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }
}
