using Zgres.Server.Database;
using Zgres.Server.EventLog;

namespace Zgres.Server.Tables;

/// <summary>One table after a check: as exposed (with its problem, if any), as the catalog showed it (null: no such
/// table), and whether this check (re)attached the capture to it.</summary>
public sealed record TableCheck(WatchedTable Table, TableShape? Shape, bool Attached);
