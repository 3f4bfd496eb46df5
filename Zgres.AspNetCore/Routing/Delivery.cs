using Zgres.AspNetCore.EventLog;

namespace Zgres.AspNetCore.Routing;

/// <summary>
/// What one subscription's group receives of one event, with <c>inFilter</c> (whether the row is in the subscription
/// now) when it says something: on filtered groups and on moves. The one rule for live dispatch and for replays, so a
/// resumed subscriber sees what a live one saw.
/// </summary>
internal readonly record struct Delivery(DeliveryKind Kind, bool? InFilter)
{
    public static readonly Delivery Skip = new(DeliveryKind.Skip, null);
    public static readonly Delivery AsIs = new(DeliveryKind.Event, null);

    /// <param name="wasIn">The row was in the subscription before the change.</param>
    /// <param name="isIn">It is after the change.</param>
    /// <param name="marked">The group is filtered: every event it gets says whether its row is in.</param>
    public static Delivery Decide(string operation, bool wasIn, bool isIn, bool marked) => operation switch
    {
        "INSERT" => isIn ? new(DeliveryKind.Event, marked ? true : null) : Skip,
        "DELETE" => wasIn ? new(DeliveryKind.Event, marked ? false : null) : Skip,
        "UPDATE" when wasIn && isIn => new(DeliveryKind.Event, marked ? true : null),
        "UPDATE" when wasIn => new(DeliveryKind.MoveOut, false),
        "UPDATE" when isIn => new(DeliveryKind.MoveIn, true),
        // A TRUNCATE empties every subscription of its table.
        "TRUNCATE" => new(DeliveryKind.Event, marked ? false : null),
        _ => Skip,
    };

    /// <summary>What the group of one input receives: its rows' changes, and a row that moves to or from it as a move.</summary>
    public static Delivery ForInput(ChangeRecord change, string inputId) =>
        Decide(change.Operation,
            wasIn: change.Operation switch
            {
                "UPDATE" => change.OldInputId == inputId,
                "DELETE" => change.InputId == inputId,
                _ => false,
            },
            isIn: change.Operation is "INSERT" or "UPDATE" && change.InputId == inputId,
            marked: false);
}
