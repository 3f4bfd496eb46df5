using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Routing;

namespace Zgres.Tests.Units;

/// <summary>Filters: PostgreSQL's meaning of each operator per column type, the refusals, and the dispatch index.</summary>
public sealed class FilterTests
{
    private static readonly Dictionary<string, ColumnType> Columns = new()
    {
        ["total"] = ColumnType.Builtin("numeric"),
        ["qty"] = ColumnType.Builtin("int4"),
        ["ratio"] = ColumnType.Builtin("float8"),
        ["score"] = ColumnType.Builtin("float4"),
        ["status"] = ColumnType.Builtin("text"),
        ["code"] = ColumnType.Builtin("bpchar"),
        ["paid"] = ColumnType.Builtin("bool"),
        ["at"] = ColumnType.Builtin("timestamptz"),
        ["local"] = ColumnType.Builtin("timestamp"),
        ["day"] = ColumnType.Builtin("date"),
        ["ref"] = ColumnType.Builtin("uuid"),
        ["doc"] = ColumnType.Builtin("jsonb"),
        ["stage"] = ColumnType.FromCatalog("public", "stage", 'e', ["new", "open", "done"], deterministicCollation: true),
    };

    private static readonly Zgres.AspNetCore.Tables.TableName Orders = new("public", "orders");

    private static RowFilter Filter(string json) => RowFilter.Parse(JsonDocument.Parse(json).RootElement, Columns);

    private static bool Matches(string filter, string row) => Filter(filter).Matches(JsonDocument.Parse(row).RootElement);

    [Theory]
    [InlineData("""[{"column":"total","op":"eq","value":100}]""", """{"total":100.00}""", true)]
    [InlineData("""[{"column":"total","op":"eq","value":"100"}]""", """{"total":100}""", true)]
    [InlineData("""[{"column":"total","op":"neq","value":100}]""", """{"total":99.5}""", true)]
    [InlineData("""[{"column":"total","op":"neq","value":100}]""", """{"total":null}""", false)]
    [InlineData("""[{"column":"total","op":"gt","value":100}]""", """{"total":100.0001}""", true)]
    [InlineData("""[{"column":"total","op":"gt","value":9}]""", """{"total":10}""", true)]
    [InlineData("""[{"column":"total","op":"gte","value":100}]""", """{"total":100}""", true)]
    [InlineData("""[{"column":"total","op":"lt","value":-1.5}]""", """{"total":-2}""", true)]
    [InlineData("""[{"column":"total","op":"lte","value":12345678901234567890123}]""", """{"total":12345678901234567890124}""", false)]
    [InlineData("""[{"column":"total","op":"in","value":[1,2,3]}]""", """{"total":2.0}""", true)]
    [InlineData("""[{"column":"total","op":"in","value":[1,2,3]}]""", """{"total":4}""", false)]
    [InlineData("""[{"column":"status","op":"eq","value":"open"}]""", """{"status":"open"}""", true)]
    [InlineData("""[{"column":"status","op":"eq","value":"open"}]""", """{"status":"Open"}""", false)]
    [InlineData("""[{"column":"status","op":"in","value":["open","held"]}]""", """{"status":"held"}""", true)]
    [InlineData("""[{"column":"status","op":"is","value":null}]""", """{"status":null}""", true)]
    [InlineData("""[{"column":"status","op":"is","value":null}]""", """{"status":""}""", false)]
    [InlineData("""[{"column":"paid","op":"eq","value":true}]""", """{"paid":true}""", true)]
    [InlineData("""[{"column":"paid","op":"is","value":false}]""", """{"paid":false}""", true)]
    [InlineData("""[{"column":"paid","op":"is","value":false}]""", """{"paid":null}""", false)]
    [InlineData("""[{"column":"at","op":"gt","value":"2026-11-28T12:00:00+01:00"}]""", """{"at":"2026-11-28T11:00:00.000001+00:00"}""", true)]
    [InlineData("""[{"column":"at","op":"eq","value":"2026-11-28T11:00:00Z"}]""", """{"at":"2026-11-28T11:00:00+00:00"}""", true)]
    [InlineData("""[{"column":"local","op":"lt","value":"2026-11-28T12:00:00"}]""", """{"local":"2026-11-28T11:59:59.5"}""", true)]
    [InlineData("""[{"column":"day","op":"gte","value":"2026-11-28"}]""", """{"day":"2026-11-27"}""", false)]
    [InlineData("""[{"column":"ref","op":"eq","value":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}]""", """{"ref":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}""", true)]
    [InlineData("""[{"column":"doc","op":"is","value":null}]""", """{"doc":{"a":1}}""", false)]
    [InlineData("""[{"column":"status","op":"eq","value":"open"},{"column":"total","op":"gt","value":100}]""", """{"status":"open","total":100}""", false)]
    // Beyond decimal's 28 digits, exactly.
    [InlineData("""[{"column":"total","op":"lt","value":"1.00000000000000000000000000000000001"}]""", """{"total":1.000000000000000000000000000000000009}""", true)]
    // NaN equals NaN and is above every number, Infinity too, as in PostgreSQL (numeric and float alike).
    [InlineData("""[{"column":"total","op":"eq","value":"NaN"}]""", """{"total":"NaN"}""", true)]
    [InlineData("""[{"column":"total","op":"gt","value":"Infinity"}]""", """{"total":"NaN"}""", true)]
    [InlineData("""[{"column":"total","op":"lt","value":1e30}]""", """{"total":"Infinity"}""", false)]
    [InlineData("""[{"column":"total","op":"gt","value":"-Infinity"}]""", """{"total":-1e30}""", true)]
    [InlineData("""[{"column":"ratio","op":"gte","value":"NaN"}]""", """{"ratio":"NaN"}""", true)]
    [InlineData("""[{"column":"ratio","op":"lt","value":"NaN"}]""", """{"ratio":"Infinity"}""", true)]
    [InlineData("""[{"column":"ratio","op":"eq","value":0}]""", """{"ratio":-0}""", true)]
    [InlineData("""[{"column":"ratio","op":"eq","value":0.1}]""", """{"ratio":0.1}""", true)]
    // A real compares at its own precision: 0.1 as a real is not 0.1 as a double, and 0.10000001 rounds to it.
    [InlineData("""[{"column":"score","op":"eq","value":0.10000000149011612}]""", """{"score":0.1}""", true)]
    [InlineData("""[{"column":"score","op":"gt","value":0.1}]""", """{"score":0.1}""", false)]
    // char(n) ignores its padding.
    [InlineData("""[{"column":"code","op":"eq","value":"ab"}]""", """{"code":"ab  "}""", true)]
    [InlineData("""[{"column":"code","op":"in","value":["ab   ","x"]}]""", """{"code":"ab"}""", true)]
    [InlineData("""[{"column":"qty","op":"eq","value":"42"}]""", """{"qty":42}""", true)]
    [InlineData("""[{"column":"qty","op":"gte","value":-2147483648}]""", """{"qty":-2147483648}""", true)]
    // infinity timestamps and dates, BC and years past 9999.
    [InlineData("""[{"column":"at","op":"gt","value":"294276-12-31T00:00:00Z"}]""", """{"at":"infinity"}""", true)]
    [InlineData("""[{"column":"at","op":"lt","value":"0044-03-15T12:00:00Z BC"}]""", """{"at":"-infinity"}""", true)]
    [InlineData("""[{"column":"at","op":"lt","value":"0001-01-01T00:00:00Z"}]""", """{"at":"0044-03-15T12:00:00+00:00 BC"}""", true)]
    [InlineData("""[{"column":"day","op":"gt","value":"9999-12-31"}]""", """{"day":"10000-01-01"}""", true)]
    [InlineData("""[{"column":"day","op":"eq","value":"0001-12-31 BC"}]""", """{"day":"0001-12-31 BC"}""", true)]
    [InlineData("""[{"column":"local","op":"eq","value":"2026-01-01T00:00:00.0000015"}]""", """{"local":"2026-01-01T00:00:00.000002"}""", true)]
    // Enums in their declared order.
    [InlineData("""[{"column":"stage","op":"gt","value":"new"}]""", """{"stage":"done"}""", true)]
    [InlineData("""[{"column":"stage","op":"lt","value":"open"}]""", """{"stage":"done"}""", false)]
    [InlineData("""[{"column":"ref","op":"lt","value":"b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}]""", """{"ref":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}""", true)]
    public void Each_operator_compares_as_PostgreSQL_does_for_the_column_type(string filter, string row, bool matches) =>
        Assert.Equal(matches, Matches(filter, row));

    [Theory]
    [InlineData("""{"column":"total"}""", "filter must be a list of conditions")]
    [InlineData("""[]""", "filter must have at least one condition")]
    [InlineData("""[{"column":"nope","op":"eq","value":1}]""", "filter: column 'nope' is not published by this table")]
    [InlineData("""[{"column":"total","op":"like","value":1}]""", "filter on 'total': unknown op 'like'")]
    [InlineData("""[{"column":"total","op":"eq","value":"ten"}]""", "filter on 'total': eq value \"ten\": not a number within numeric's range")]
    [InlineData("""[{"column":"qty","op":"eq","value":1.5}]""", "filter on 'qty': eq value 1.5: not a whole number")]
    [InlineData("""[{"column":"qty","op":"eq","value":3000000000}]""", ": out of range for int4 (-2147483648 to 2147483647)")]
    [InlineData("""[{"column":"ratio","op":"eq","value":1e400}]""", ": not a number within float8's range")]
    [InlineData("""[{"column":"stage","op":"eq","value":"shipped"}]""", ": not one of the type's labels; 'stage' takes one of \"new\", \"open\", \"done\"")]
    [InlineData("""[{"column":"status","op":"eq","value":"a\u0000b"}]""", "NUL character")]
    [InlineData("""[{"column":"at","op":"eq","value":"2026-02-30T00:00:00Z"}]""", "no such date")]
    [InlineData("""[{"column":"local","op":"eq","value":"2026-01-01T00:00:00+01:00"}]""", "takes no offset")]
    [InlineData("""[{"column":"total","op":"eq","value":null}]""", "to match NULL use")]
    [InlineData("""[{"column":"status","op":"lt","value":"m"}]""", "filter on 'status': lt is not supported on a text column")]
    [InlineData("""[{"column":"status","op":"eq","value":5}]""", "filter on 'status': eq value 5: a number is not a text (text)")]
    [InlineData("""[{"column":"status","op":"is","value":true}]""", "is true needs a boolean column")]
    [InlineData("""[{"column":"at","op":"gt","value":"yesterday"}]""", "\"yesterday\": expected a date such as 2026-11-28")]
    [InlineData("""[{"column":"doc","op":"eq","value":"x"}]""", "its type (jsonb) cannot be compared")]
    [InlineData("""[{"column":"total","op":"in","value":5}]""", "in takes a list of values")]
    [InlineData("""[{"column":"total","op":"eq","value":1,"extra":1}]""", "has no property 'extra'")]
    public void A_bad_filter_is_refused_naming_the_column_operator_or_value(string filter, string message) =>
        Assert.Contains(message, Assert.Throws<HubException>(() => Filter(filter)).Message, StringComparison.Ordinal);

    [Fact]
    public void An_in_list_takes_at_most_100_values()
    {
        var values = string.Join(",", Enumerable.Range(0, 101));
        Assert.Contains("in takes 1 to 100 values, not 101", Assert.Throws<HubException>(() => Filter($$"""[{"column":"total","op":"in","value":[{{values}}]}]""")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_conditions_give_the_same_group_and_different_ones_another()
    {
        Assert.Equal(Filter("""[{"column":"total","op":"eq","value":100}]""").Key, Filter("""[{"column":"total","op":"eq","value":100.0}]""").Key);
        Assert.NotEqual(Filter("""[{"column":"total","op":"eq","value":100}]""").Key, Filter("""[{"column":"total","op":"gte","value":100}]""").Key);
    }

    [Theory]
    [InlineData("INSERT", """{"status":"open"}""", null, "Event in")]
    [InlineData("INSERT", """{"status":"done"}""", null, "Skip")]
    [InlineData("UPDATE", """{"status":"open"}""", """{"status":"open"}""", "Event in")]
    [InlineData("UPDATE", """{"status":"open"}""", """{"status":"new"}""", "MoveIn in")]
    [InlineData("UPDATE", """{"status":"done"}""", """{"status":"open"}""", "MoveOut out")]
    [InlineData("UPDATE", """{"status":"done"}""", """{"status":"new"}""", "Skip")]
    [InlineData("DELETE", """{"status":"open"}""", null, "Event out")]
    [InlineData("DELETE", """{"status":"done"}""", null, "Skip")]
    [InlineData("TRUNCATE", """{}""", null, "Event out")]
    public void A_row_entering_staying_in_or_leaving_the_filter_is_sent_saying_whether_it_is_in(string operation, string data, string? old, string expected)
    {
        var index = new FilterIndex();
        var open = new FilteredGroup("filter:public.orders:open", Orders, null, Filter("""[{"column":"status","op":"eq","value":"open"}]"""));
        var big = new FilteredGroup("filter:public.orders:big", Orders, null, Filter("""[{"column":"total","op":"gt","value":1000}]"""));
        index.Add(open);
        index.Add(big);
        var matched = new List<(FilteredGroup Group, Delivery Delivery)>();

        index.Match(Orders, Row(operation, data, old), matched);

        var forOpen = matched.Where(m => m.Group == open).Select(m => $"{m.Delivery.Kind} {(m.Delivery.InFilter == true ? "in" : "out")}").SingleOrDefault() ?? "Skip";
        Assert.Equal(expected, forOpen);
        Assert.Equal(operation == "TRUNCATE", matched.Any(m => m.Group == big));
    }

    /// <summary>An event's row parts as the log hands them over: the event JSON and the inputs before and after.</summary>
    private static EventRow Row(string operation, string data, string? old, string? input = null, string? oldInput = null)
    {
        var json = JsonDocument.Parse($$"""{"operation":"{{operation}}","data":{{data}},"old":{{old ?? "null"}}}""");
        return EventRow.Of(json, new ChangeRecord(1, Orders, operation, input, operation == "UPDATE" ? oldInput ?? input : null, Encoding.UTF8.GetBytes(json.RootElement.GetRawText())));
    }

    [Fact]
    public void An_input_filtered_group_gets_only_its_inputs_events_and_a_removed_group_nothing()
    {
        var index = new FilterIndex();
        var group = new FilteredGroup("filter:public.orders:x:42", Orders, "42", Filter("""[{"column":"status","op":"in","value":["open","held"]}]"""));
        index.Add(group);
        const string row = """{"status":"held"}""";
        var matched = new List<(FilteredGroup Group, Delivery Delivery)>();

        index.Match(Orders, Row("INSERT", row, null, input: "43"), matched);
        Assert.Empty(matched);
        index.Match(Orders, Row("INSERT", row, null, input: "42"), matched);
        Assert.Single(matched);

        index.Remove(group.Name);
        Assert.False(index.HasGroups(Orders));
    }
}
