using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.Tests.Units;

/// <summary>How a watched table's drift from its configuration is named: a rename is told from a drop by the column's
/// attribute number, and only within the same table (oid).</summary>
public sealed class SchemaChangesTests
{
    private static readonly WatchedTableOptions Configured = new() { Name = "public.orders", Columns = ["id", "total"], InputColumn = "customer" };

    private static TableShape Shape(uint oid, params string[] columns) =>
        new(oid, [.. columns.Select((name, i) => new TableColumn((short)(i + 1), name))]);

    [Fact]
    public void A_table_that_matches_has_no_problem() =>
        Assert.Null(SchemaChanges.Describe(Configured, null, Shape(1, "id", "customer", "total", "note")));

    [Fact]
    public void A_published_column_with_the_same_number_and_another_name_was_renamed() =>
        Assert.Equal("published column 'total' was renamed to 'amount' (events no longer carry it)",
            SchemaChanges.Describe(Configured, Shape(1, "id", "customer", "total"), Shape(1, "id", "customer", "amount")));

    [Fact]
    public void A_published_column_whose_number_is_gone_was_dropped() =>
        Assert.Equal("published column 'total' was dropped (events no longer carry it)",
            SchemaChanges.Describe(Configured, Shape(1, "id", "customer", "total"), new TableShape(1, [new(1, "id"), new(2, "customer")])));

    [Fact]
    public void A_renamed_column_is_still_called_renamed_at_every_later_check_until_it_is_repaired()
    {
        var good = Shape(1, "id", "customer", "total");
        var renamed = Shape(1, "id", "customer", "amount");
        var first = Check(good, renamed).RememberedAfter(Check(null, good));
        var second = Check(first.Shape, renamed).RememberedAfter(first);

        Assert.Equal("published column 'total' was renamed to 'amount' (events no longer carry it)", second.Table.Problem);
        Assert.Same(good, second.Shape);
        Assert.Same(good, Check(second.Shape, good).RememberedAfter(second).Shape);
    }

    [Fact]
    public void A_renamed_default_input_column_is_still_reported_at_the_next_check()
    {
        var options = new WatchedTableOptions { Name = "public.orders" };
        var good = Shape(1, "id", "input_id");
        var renamed = Shape(1, "id", "owner");
        var first = Check(good, renamed, options).RememberedAfter(Check(null, good, options));

        Assert.Equal("input column 'input_id' was renamed to 'owner' (events carry inputId null, so its input subscribers get nothing)",
            Check(first.Shape, renamed, options).Table.Problem);
    }

    [Fact]
    public void A_table_created_again_with_a_problem_is_remembered_as_the_new_table() =>
        Assert.Equal(2u, Check(Shape(1, "id", "customer", "total"), Shape(2, "id", "customer"))
            .RememberedAfter(Check(null, Shape(1, "id", "customer", "total"))).Shape!.Oid);

    /// <summary>A check that saw <paramref name="now"/>, after one that saw <paramref name="before"/>.</summary>
    private static TableCheck Check(TableShape? before, TableShape now, WatchedTableOptions? options = null)
    {
        options ??= Configured;
        var problem = SchemaChanges.Describe(options, before, now);
        return new TableCheck(new WatchedTable(new TableName("public", "orders"), [.. now.Columns.Select(c => c.Name)], SchemaChanges.InputColumnOf(options, before, now),
            null, problem, options.Access, publishesAllColumns: options.Columns is null), now, Attached: false);
    }

    [Fact]
    public void A_renamed_input_column_says_that_input_subscribers_get_nothing() =>
        Assert.Equal("input column 'customer' was renamed to 'client' (events carry inputId null, so its input subscribers get nothing)",
            SchemaChanges.Describe(Configured, Shape(1, "id", "customer", "total"), Shape(1, "id", "client", "total")));

    [Fact]
    public void In_a_table_created_again_a_missing_column_does_not_exist_whatever_its_numbers() =>
        Assert.Equal("published column 'total' does not exist (events no longer carry it)",
            SchemaChanges.Describe(Configured, Shape(1, "id", "customer", "total"), Shape(2, "id", "customer", "amount")));

    [Fact]
    public void A_table_gone_since_the_last_check_was_dropped_and_one_never_seen_does_not_exist()
    {
        Assert.StartsWith("the table was dropped", SchemaChanges.Describe(Configured, Shape(1, "id", "customer", "total"), null), StringComparison.Ordinal);
        Assert.StartsWith("the table does not exist", SchemaChanges.Describe(Configured, null, null), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_missing_column_is_named()
    {
        var problem = SchemaChanges.Describe(Configured, null, Shape(1, "id"))!;

        Assert.Contains("published column 'total' does not exist", problem, StringComparison.Ordinal);
        Assert.Contains("input column 'customer' does not exist", problem, StringComparison.Ordinal);
    }
}
