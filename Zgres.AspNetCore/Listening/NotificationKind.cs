namespace Zgres.AspNetCore.Listening;

internal enum NotificationKind { Doorbell, Ping, Unknown }
