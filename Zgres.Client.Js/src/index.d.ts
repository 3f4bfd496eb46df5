import type { IHttpConnectionOptions, ILogger, LogLevel } from "@microsoft/signalr";

/** A JSON value as the trigger wrote it: numbers, booleans, null, arrays and json columns keep their types. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One row change, or one row of a snapshot, as the hub sends it (the wire's ChangeEvent). */
export interface ChangeEvent {
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
  /** The published columns of the new row (of the old row for DELETE; empty for TRUNCATE). */
  data: { [column: string]: JsonValue };
  /** For UPDATE, the published columns before the change; otherwise null. */
  old: { [column: string]: JsonValue } | null;
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

export declare class ZgresClient {
  /** @param url the server's base address, for example "http://localhost:5080" (the hub is at /hubs/changes). */
  constructor(url: string | URL, options?: ZgresClientOptions);
  readonly state: ZgresConnectionState;
  /** Returns a function that removes the listener. */
  onStateChanged(listener: (current: ZgresConnectionState, previous: ZgresConnectionState, error?: Error) => void): () => void;
  /** Returns a function that removes the listener. */
  onGap(listener: (gap: ZgresGap) => void): () => void;
  /** A handler threw; delivery went on. Returns a function that removes the listener. */
  onHandlerError(listener: (error: unknown, event: ChangeEvent, subscription: ZgresSubscription) => void): () => void;
  /** Resolves once connected (retrying with backoff until then); rejects only if stop() comes first. */
  start(): Promise<void>;
  /** Rejects with SubscriptionRefusedError when the server refuses; waits while the client reconnects. With `after`,
   *  the replay (with `snapshot`, the snapshot rows) reaches the handler before the returned promise resolves. */
  subscribe(table: string, options: SubscribeOptions | undefined, handler: (event: ChangeEvent) => unknown): Promise<ZgresSubscription>;
  subscribe(table: string, handler: (event: ChangeEvent) => unknown): Promise<ZgresSubscription>;
  stream(table: string, options?: StreamOptions): AsyncGenerator<ChangeEvent, void, undefined>;
  /** Ends every subscription and stream and closes the connection; start() may be called again. */
  stop(): Promise<void>;
}
