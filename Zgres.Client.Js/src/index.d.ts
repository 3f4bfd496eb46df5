import type { IHttpConnectionOptions, ILogger, LogLevel } from "@microsoft/signalr";

/** A JSON value as the trigger wrote it: numbers, booleans, null, arrays and json columns keep their types. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A row as the trigger wrote it: the published columns by name. */
export type JsonRow = { [column: string]: JsonValue };

/**
 * One row change, or one row of a snapshot, as the hub sends it (the wire's ChangeEvent). `R` types the rows (`data`
 * and `old`): declare it as the table's columns, e.g. `ChangeEvent<{ id: number; status: string }>`. The rows are not
 * checked against it: it says what the table holds.
 */
export interface ChangeEvent<R = JsonRow> {
  /** Unique per database, taken when the change was written (an int64; exact below 2^53); 0 for a snapshot row. */
  id: number;
  /** When the trigger ran, ISO 8601 in UTC ending in "Z" (microseconds). */
  timestamp: string;
  /** "SNAPSHOT": a row as it was when a `snapshot: true` subscription began (they come before its changes). */
  operation: "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "SNAPSHOT";
  schema: string;
  table: string;
  /** The row's input column as text, or null. */
  inputId: string | null;
  /** The published columns of the new row (of the old row for DELETE; empty for TRUNCATE; only the key columns for a
   *  row leaving a filtered or input subscription, `inFilter: false`). */
  data: R;
  /** For UPDATE, the published columns before the change; otherwise null. */
  old: R | null;
  /** The hub group the event was sent for: whose event it is (the client routes by it). */
  group: string;
  /** Whether the row is in the subscription now, where that is news: on events of a filtered subscription and on
   *  snapshot rows, and on a row that moved to (true; `old` is then null) or from (false; `data` then holds only the
   *  row's key) an input. False (also a DELETE or TRUNCATE of a filtered subscription) means a view should drop it. */
  inFilter?: boolean;
  /** The writer's transaction id as pg_current_xact_id() returned it to the writer (absent on snapshot rows). */
  txid?: string;
}

/** One condition of a filter; every condition of a filter must hold. */
export interface FilterCondition {
  /** A published column. */
  column: string;
  op: "eq" | "neq" | "lt" | "lte" | "gt" | "gte" | "in" | "is";
  /** A value of the column's type; for "in" a list of 1 to 100 of them; for "is" null, true or false. */
  value: JsonValue;
}

export type ZgresConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

/** A resume found that the server's log no longer held every event after `after`: reload that state. */
export interface ZgresGap {
  /** "schema.table" */
  table: string;
  inputId: string | null;
  filter: FilterCondition[] | null;
  after: number;
}

export interface ZgresClientOptions {
  /** Called on every connect; the token is sent as the hub's access token. */
  accessTokenFactory?: () => string | Promise<string>;
  /** First reconnect delay in ms (default 200); each further attempt doubles it, with jitter, up to maxReconnectDelay. */
  initialReconnectDelay?: number;
  /** Longest wait between reconnect attempts in ms (default 10000). The client never stops retrying. */
  maxReconnectDelay?: number;
  /** How many recent event ids each subscription remembers to drop repeats (default 100000). */
  duplicateWindow?: number;
  /** SignalR's logger, or the lowest level to write to the console (default LogLevel.Warning). */
  logger?: ILogger | LogLevel;
  /** Further options of SignalR's HTTP connection (headers, transport, ...). */
  connectionOptions?: IHttpConnectionOptions;
}

export interface SubscribeOptions {
  /** Only rows with this input id (compared as text); null or absent for every row of the table. */
  inputId?: string | number | null;
  /** Replay every event after this id first (for example a stored `lastId`), then live ones. */
  after?: number | null;
  /** Only rows for which every condition holds; each event then says with `inFilter` whether its row still does.
   *  Subscriptions with the same table, inputId and filter (as JSON text) share one hub group. */
  filter?: FilterCondition[] | null;
  /** First hand over every row that matches now as "SNAPSHOT" events, then each change after them. After a
   *  reconnect it resumes after its last event, without a new snapshot (a gap is reported by onGap: reload then).
   *  Not together with `after`. */
  snapshot?: boolean;
}

export interface StreamOptions extends SubscribeOptions {
  /** Ends the stream: the for-await loop then finishes without an error. */
  signal?: AbortSignal;
}

export interface LiveQueryOptions {
  /** Only rows with this input id (compared as text); null or absent for every row of the table. */
  inputId?: string | number | null;
  /** Only rows for which every condition holds. */
  filter?: FilterCondition[] | null;
}

/** What changed in a live view, by primary key. */
export interface LiveQueryChange<R = JsonRow> {
  /** "applied": events applied as they came (or a resume's folded together); "resynced": a new snapshot replaced the
   *  rows (after a gap in the server's log, or a snapshot cut by a lost connection). */
  kind: "applied" | "resynced";
  /** Rows that entered the view. */
  added: ReadonlyMap<string, R>;
  /** Rows whose values changed, with their new values. */
  updated: ReadonlyMap<string, R>;
  /** Rows that left the view (deleted, moved out of its input or filter, truncated), with their last values. */
  removed: ReadonlyMap<string, R>;
  /** The events applied, in stream order (none for a resync). */
  events: readonly ChangeEvent<R>[];
}

/**
 * A query's rows kept equal to the database: a snapshot, then every change applied by primary key; resumed after a
 * reconnect, re-snapshotted by itself after a gap or a snapshot cut by a lost connection. `subscribe` and
 * `getSnapshot` are bound: `useSyncExternalStore(view.subscribe, view.getSnapshot)`.
 */
export declare class LiveQuery<R = JsonRow> {
  private constructor();
  /** "schema.table" */
  readonly table: string;
  readonly inputId: string | null;
  readonly filter: FilterCondition[] | null;
  /** The table's primary key columns, as the server named them (empty until the snapshot is in). */
  readonly key: readonly string[];
  /** The rows now, by primary key as a string: the value of a one-column key (a text as it is, any other value as its
   *  JSON: "42"), the JSON array of the values of a composite one ('[7,"a"]'). Always the rows at one point of the
   *  stream. Changed in place by the view: read it, never change it. */
  readonly rows: ReadonlyMap<string, R>;
  /** Resolves once the snapshot's rows are in; rejects with a SubscriptionRefusedError when the server refuses. */
  readonly ready: Promise<void>;
  /** Whether the rows equal the query at some point of the stream (false before the snapshot and while a resync is pending). */
  readonly isReady: boolean;
  /** The `after` with which a subscription of the same rows (or of some of them) continues where the rows shown stand,
   *  missing no change after them: for example to switch from this view to a plain subscription (null before the
   *  snapshot is in). A resume may repeat an event whose id is below it: drop the ids already shown. */
  readonly continueAfter: number | null;
  /** Calls the listener after each change of the rows; returns a function that removes it. */
  onChange(listener: (change: LiveQueryChange<R>) => void): () => void;
  /** Calls the listener whenever the rows change (for useSyncExternalStore); returns a function that removes it. */
  readonly subscribe: (listener: () => void) => () => void;
  /** The rows as an immutable array in key order; the same array until the rows change. */
  readonly getSnapshot: () => readonly R[];
  /** Stops the view; the hub group is left once nothing else of this client follows it. */
  close(): Promise<void>;
}

/** A live subscription: each event once and in order, across reconnects, until unsubscribed. */
export declare class ZgresSubscription {
  private constructor();
  /** "schema.table" */
  readonly table: string;
  readonly inputId: string | null;
  readonly filter: FilterCondition[] | null;
  /** The highest event id handed to the handler so far (null before the first; snapshot rows do not count): store it
   *  to resume with `after`. */
  readonly lastId: number | null;
  /** The `after` with which a later subscription of the same rows (or of some of them) continues where this one
   *  stopped, missing nothing it did not hand over; unlike `lastId` it is set from the first join, before any event
   *  (null until then). A resume may repeat an event whose id is below it: drop the ids already handled. */
  readonly continueAfter: number | null;
  /** No handler call starts after this; the hub group is left once no other subscription of it remains. */
  unsubscribe(): Promise<void>;
}

/** The server refused a subscribe (unknown or unexposed table, bad inputId or filter, snapshot too large); `message`
 *  is the server's. */
export declare class SubscriptionRefusedError extends Error {
  readonly table: string;
  readonly inputId: string | null;
  readonly filter: FilterCondition[] | null;
}

/** The server refused a waitForTransaction: the transaction was rolled back, or the id is malformed or not of this
 *  database; `message` is the server's. */
export declare class TransactionWaitError extends Error {
  readonly txid: string;
}

export interface WaitForTransactionOptions {
  /** How long to wait in ms, reconnects included (default 30000); then the promise rejects with an Error named
   *  "TimeoutError". The server waits at most its Zgres:Limits:MaxTransactionWait (a minute by default). */
  timeout?: number;
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export declare class ZgresClient {
  /** @param url the server's base address, for example "http://localhost:5080" (the hub is at /hubs/changes). */
  constructor(url: string | URL, options?: ZgresClientOptions);
  readonly state: ZgresConnectionState;
  /** Returns a function that removes the listener. */
  onStateChanged(listener: (current: ZgresConnectionState, previous: ZgresConnectionState, error?: Error) => void): () => void;
  /** Returns a function that removes the listener. */
  onGap(listener: (gap: ZgresGap) => void): () => void;
  /** A handler threw; delivery went on. Returns a function that removes the listener. */
  onHandlerError(listener: (error: unknown, event: ChangeEvent | null, subscription: ZgresSubscription) => void): () => void;
  /** Resolves once connected (retrying with backoff until then); rejects only if stop() comes first. */
  start(): Promise<void>;
  /** Rejects with SubscriptionRefusedError when the server refuses; waits while the client reconnects. With `after`,
   *  the replay (with `snapshot`, the snapshot rows) reaches a synchronous handler before the returned promise
   *  resolves; an async handler gets each event once it finished the one before. */
  subscribe<R = JsonRow>(table: string, options: SubscribeOptions | undefined, handler: (event: ChangeEvent<R>) => unknown): Promise<ZgresSubscription>;
  subscribe<R = JsonRow>(table: string, handler: (event: ChangeEvent<R>) => unknown): Promise<ZgresSubscription>;
  stream<R = JsonRow>(table: string, options?: StreamOptions): AsyncGenerator<ChangeEvent<R>, void, undefined>;
  /** A live view of the table (or of one input, or of a filter's rows); returns at once, see `LiveQuery.ready`. */
  liveQuery<R = JsonRow>(table: string, options?: LiveQueryOptions): LiveQuery<R>;
  /** Resolves once every event of the transaction (its id as pg_current_xact_id() returned it) for this client's
   *  subscriptions and live views has been handed to their handlers and applied to the views; at once when it touched
   *  none of them; waits while it is open and while the client reconnects. Rejects with TransactionWaitError when it
   *  was rolled back or the id is not one. */
  waitForTransaction(txid: string | bigint, options?: WaitForTransactionOptions): Promise<void>;
  /** Ends every subscription and stream and closes the connection; start() may be called again. */
  stop(): Promise<void>;
}
