using Zgres.Bench.Cli;
using Zgres.Bench.Hosting;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>What every scenario phase needs: the options, the database, the table being filled, the run's cancellation.</summary>
internal sealed record BenchContext(BenchOptions Options, BenchDatabase Database, ResultTable Table, CancellationToken Cancellation);
