namespace Zgres.AspNetCore.Routing;

/// <summary>How a group receives an event: as it is, as a row arriving, as a row leaving, or not at all.</summary>
internal enum DeliveryKind
{
    Skip,

    /// <summary>The event as it was logged.</summary>
    Event,

    /// <summary>An UPDATE that brought the row into the subscription: the new row, and no old values (<c>old</c> null),
    /// which belonged to someone else's view.</summary>
    MoveIn,

    /// <summary>An UPDATE that took the row out of the subscription: the row as the subscription knew it in <c>old</c>,
    /// and in <c>data</c> only its key, none of the new values.</summary>
    MoveOut,
}
