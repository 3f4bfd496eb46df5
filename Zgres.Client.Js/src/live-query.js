import { LiveRows } from "./live-rows.js";
import { Flush } from "./signals.js";

/**
 * The rows of a query (a table, an input of it, a filter) kept equal to the database as it changes: a snapshot, then
 * every change applied by primary key. After a reconnect it resumes; after a gap in the server's log or a snapshot cut
 * by a lost connection it takes a new snapshot by itself and tells its listeners what changed. Created by
 * ZgresClient.liveQuery(); `subscribe` and `getSnapshot` are bound, so React's
 * `useSyncExternalStore(view.subscribe, view.getSnapshot)` takes them as they are.
 */
export class LiveQuery {
  #rows = new LiveRows();
  #subscription;
  #client;
  #changeListeners = new Set();
  #storeListeners = new Set();
  #flushes = [];
  #snapshot = Object.freeze([]);
  #snapshotStale = false;
  #isReady = false;
  #closed = false;
  #following = false;
  #snapshotWanted = false;
  #snapshotting = false;
  #resolveReady;
  #rejectReady;

  /**
   * @param {object} init
   * @param {(consume: (item: object) => void) => import("./subscription.js").ZgresSubscription} init.subscribe makes
   *   the view's subscription, which hands it every event and signal
   * @param {object} init.client what the view asks of its client: follow(subscription) joins with a snapshot, waiting
   *   for the connection and trying again when it is lost (resolving once joined, rejecting with the server's
   *   refusal); resnapshot(subscription) takes a new snapshot for a subscription already joined (true once joined,
   *   false when the connection was lost first, rejecting with a refusal); backoff(attempt); reportError(error)
   */
  constructor({ subscribe, client }) {
    this.#client = client;
    this.#subscription = subscribe((item) => this.#take(item));
    /** Resolves once the snapshot's rows are in; rejects with the server's refusal (the view is then closed). */
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A caller that never awaits `ready` must not get an unhandled rejection for a refusal it can also see in close.
    this.ready.catch(() => {});
    this.#start();
  }

  /** "schema.table" */
  get table() {
    return this.#subscription.table;
  }

  get inputId() {
    return this.#subscription.inputId;
  }

  get filter() {
    return this.#subscription.filter;
  }

  /** The table's primary key columns, as the server named them. */
  get key() {
    return this.#rows.key;
  }

  /**
   * The rows now, by primary key as a string (the key column's value for a one-column key: a text as it is, any other
   * value as its JSON, "42"; the JSON array of the values for a composite one, '[7,"a"]'). Always the rows at one
   * point of the stream. Read it, never change it: the view changes it in place, one whole event at a time.
   */
  get rows() {
    return this.#rows.rows;
  }

  /** Whether the rows equal the query at some point of the stream (false before the snapshot, and while a resync is
   *  pending: the old rows stay until the new ones replace them). */
  get isReady() {
    return this.#isReady;
  }

  /** Where a subscription of the same rows (or of some of them) continues, as its `after`, so that it misses no
   *  change after the rows shown: the hub's newest id at the view's last join, or the highest id applied since (null
   *  before the snapshot is in). */
  get continueAfter() {
    return this.#rows.position;
  }

  /**
   * Calls `listener({ kind, added, updated, removed, events })` after each change of the rows: `kind` is "applied"
   * (events applied as they came, or a resume's folded together) or "resynced" (a new snapshot replaced the rows);
   * added, updated (new values) and removed (last values) are Maps by key. Returns a function that removes it.
   */
  onChange(listener) {
    return addListener(this.#changeListeners, listener);
  }

  /** Calls `listener()` whenever the rows change (the store contract of React's useSyncExternalStore). */
  subscribe = (listener) => addListener(this.#storeListeners, listener);

  /** The rows as an immutable array, in key order; the same array until the rows change. */
  getSnapshot = () => {
    if (this.#snapshotStale) {
      this.#snapshot = Object.freeze([...this.#rows.rows.entries()].sort(([a], [b]) => compareKeys(a, b)).map(([, row]) => row));
      this.#snapshotStale = false;
    }
    return this.#snapshot;
  };

  /** Stops the view: its subscription ends, and the client leaves the hub group when nothing else needs it. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#changeListeners.clear();
    this.#storeListeners.clear();
    for (const done of this.#flushes.splice(0)) done();
    await this.#subscription.unsubscribe();
  }

  async #start() {
    try {
      await this.#client.follow(this.#subscription);
      this.#following = true;
    } catch (error) {
      this.#rejectReady(error);
      await this.close();
    }
  }

  /** Takes one routed item, in stream order. */
  #take(item) {
    if (item instanceof Flush) {
      // "Delivered" means in the rows: while a join is held, or a snapshot awaited, the flush waits for them.
      if (this.#rows.isHolding || !this.#rows.isCurrent) this.#flushes.push(item.done);
      else item.done();
      return;
    }
    const changes = this.#rows.take(item, this.#subscription);
    if (changes !== null) this.#publish(changes);
    if (this.#rows.isCurrent && !this.#rows.isHolding) for (const done of this.#flushes.splice(0)) done();
    if (this.#rows.needsSnapshot && !this.#rows.isHolding && this.#following) {
      this.#isReady = false;
      this.#requestSnapshot();
    }
  }

  #publish(changes) {
    const { kind, added, updated, removed } = changes;
    if (kind !== "applied") {
      this.#isReady = true;
      this.#resolveReady();
    }
    if (kind === "applied" && added.size === 0 && updated.size === 0 && removed.size === 0) return;
    this.#snapshotStale = true;
    const report = (error) => this.#client.reportError(error, this.#subscription);
    if (kind !== "loaded") notify(this.#changeListeners, report, { kind, added, updated, removed, events: kind === "resynced" ? [] : changes.events });
    notify(this.#storeListeners, report);
  }

  /** Asks for a new snapshot unless one is on its way; one loop takes them, with backoff while the server refuses
   *  (reported to onHandlerError) and after each lost connection. */
  #requestSnapshot() {
    this.#snapshotWanted = true;
    if (this.#snapshotting) return;
    this.#snapshotting = true;
    this.#takeSnapshots().finally(() => { this.#snapshotting = false; });
  }

  async #takeSnapshots() {
    for (let attempt = 0; this.#snapshotWanted && !this.#closed; attempt++) {
      this.#snapshotWanted = false;
      try {
        if (await this.#client.resnapshot(this.#subscription)) {
          attempt = -1;
          continue;
        }
      } catch (error) {
        if (this.#closed) return;
        this.#client.reportError(error, this.#subscription);
      }
      this.#snapshotWanted = true;
      await new Promise((resolve) => setTimeout(resolve, this.#client.backoff(attempt)));
    }
  }
}

/** Keys in a stable order: numbers by value, anything else as text. */
function compareKeys(a, b) {
  const [x, y] = [Number(a), Number(b)];
  if (!Number.isNaN(x) && !Number.isNaN(y) && a !== "" && b !== "") return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function addListener(listeners, listener) {
  if (typeof listener !== "function") throw new TypeError("listener must be a function.");
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls every listener; one that throws is reported and does not keep the others from hearing it. */
function notify(listeners, report, ...args) {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch (error) {
      report(error);
    }
  }
}
