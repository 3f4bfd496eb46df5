import { Flush, JoinBegan, JoinEnded, isSignal } from "./signals.js";

/**
 * A live subscription of a ZgresClient: it hands each event of its table (or of one input, or of a filter) to its
 * handler once and in order, across reconnects, until unsubscribed. Created by ZgresClient.subscribe; the members
 * without a `#` that the type declarations leave out (key, offer, signal, joined, isNewGap, resumeAfter, close, ended)
 * are the client's, not the user's. A live view's subscription hands everything (events and signals) to its view
 * instead.
 */
export class ZgresSubscription {
  #handler;
  #consume;
  #leave;
  #reportHandlerError;
  #duplicateWindow;
  #recentIds = new Set(); // insertion-ordered, so the oldest id is the first one
  #queue = [];
  #pumping = false;
  #closed = false;
  #endedSignal;
  #lastId = null;
  #continueAfter = null;
  // The hub's newest id at this subscription's last join (or the caller's `after` before any join).
  #confirmedResumeAfter;
  // The highest id received, outside joins of its group that went unanswered.
  #received = null;
  // While a join of its group is in flight: the highest id received since it began (null: none yet).
  #receivedInJoin = null;
  #inJoin = false;
  // The point after which the last gap reported for it began.
  #gapReportedAfter = null;

  /**
   * @param {object} init
   * @param {string} init.key the client's key of the hub group this subscription shares
   * @param {string} init.table "schema.table"
   * @param {string | null} init.inputId
   * @param {object[] | null} init.filter the conditions as given to subscribe(), or null
   * @param {number | null} init.after
   * @param {(event: object) => unknown} [init.handler] called with each event
   * @param {(item: object) => void} [init.consume] instead of a handler: called with each event and each signal
   *   (a live view's), and no repeat is dropped, since a view decides by each row's newest event
   * @param {number} init.duplicateWindow how many recent ids to remember to drop repeats
   * @param {(subscription: ZgresSubscription) => Promise<void>} init.leave lets the client leave the group
   * @param {(error: unknown, event: object, subscription: ZgresSubscription) => void} init.reportHandlerError
   */
  constructor({ key, table, inputId, filter = null, after, handler, consume = null, duplicateWindow, leave, reportHandlerError }) {
    this.key = key;
    this.table = table;
    this.inputId = inputId;
    this.filter = filter;
    /** Snapshot rows handed to the handler so far: a snapshot cut off after some cannot be asked for again into the same
     *  handler. (A live view takes a snapshot's rows in only once its join ends: it counts none.) */
    this.snapshotRows = 0;
    this.#confirmedResumeAfter = after;
    this.#handler = handler;
    this.#consume = consume;
    this.#duplicateWindow = consume === null ? duplicateWindow : 0;
    this.#leave = leave;
    this.#reportHandlerError = reportHandlerError;
    this.ended = new Promise((resolve) => { this.#endedSignal = resolve; });
  }

  /** The highest event id handed to the handler so far (null before the first): store it to resume later with `after`. */
  get lastId() {
    return this.#lastId;
  }

  /** Where a later subscription of the same rows (or of some of them) continues, as its `after`, so that it misses
   *  nothing this one did not hand over: the hub's newest id at the last join whose events were all handed over, or
   *  the highest id handed over since (null before the first join ends). */
  get continueAfter() {
    return this.#continueAfter;
  }

  /** Stops the subscription: no handler call starts after this, and the client leaves the hub group when no other
   *  subscription of the same group needs it. */
  async unsubscribe() {
    if (this.#closed) return;
    this.close();
    await this.#leave(this);
  }

  /**
   * The id this subscription resumes after when the connection comes back: the newest id the hub confirmed at its
   * last join, or the highest id received since (its group's events arrive in commit order; the replay after it
   * covers lower ids of transactions still open then).
   * @returns {number | null}
   */
  get resumeAfter() {
    if (this.#confirmedResumeAfter === null) return null;
    return Math.max(this.#confirmedResumeAfter, this.#received ?? this.#confirmedResumeAfter);
  }

  /** A join found a gap after `after`: true unless that gap was the last one reported for it (a join cut before it
   *  moved its point is asked again from there, and finds the same gap). */
  isNewGap(after) {
    const news = this.#gapReportedAfter !== after;
    this.#gapReportedAfter = after;
    return news;
  }

  /** The hub answered a (re)subscribe: everything up to its newest id then has been replayed or is live from here. */
  joined(newestAtJoin) {
    this.#confirmedResumeAfter = Math.max(this.#confirmedResumeAfter ?? newestAtJoin, newestAtJoin);
  }

  /** Queues an event for the handler unless this subscription has seen its id already (a replay, or the same event
   *  after a resume). Snapshot rows all have id 0 and stand before the stream: they are
   *  never dropped as repeats and never move the resume point. */
  offer(event) {
    if (this.#closed) return;
    if (isSnapshotRow(event)) {
      if (this.#consume === null) this.snapshotRows++;
      this.#enqueue(event);
      return;
    }
    if (this.#duplicateWindow > 0) {
      if (this.#recentIds.has(event.id)) return;
      this.#recentIds.add(event.id);
      if (this.#recentIds.size > this.#duplicateWindow) this.#recentIds.delete(this.#recentIds.values().next().value);
    }
    if (this.#inJoin) this.#receivedInJoin = Math.max(this.#receivedInJoin ?? event.id, event.id);
    else if (this.#received === null || event.id > this.#received) this.#received = event.id;
    this.#enqueue(event);
  }

  /** Queues a signal (a join of the group beginning or ending, a flush) between the events. */
  signal(signal) {
    if (this.#closed) {
      if (signal instanceof Flush) signal.done();
      return;
    }
    if (signal instanceof JoinBegan) this.#joinBegan();
    else if (signal instanceof JoinEnded) this.#joinEnded(signal.join.result !== null || typeof signal.join.replayGap === "boolean");
    this.#enqueue(signal);
  }

  #joinBegan() {
    this.#inJoin = true;
    this.#receivedInJoin = null;
  }

  /**
   * What arrived during a join moves the resume point once the hub has answered it, or once the hub marked its replay
   * as finding a gap or not (`counts`; a gap the client then reports itself). Otherwise a resume whose answer was lost
   * with its connection may have found a gap, and its replay brings events from after that gap: resuming after those,
   * the next join would never hear of it.
   * So the next join asks again from where this one did; the repeats it brings are dropped (or folded, by a live view).
   * A replay cut for its length under busy writers goes on from what it delivered rather than starting over.
   */
  #joinEnded(counts) {
    if (this.#inJoin && counts && this.#receivedInJoin !== null && (this.#received === null || this.#receivedInJoin > this.#received)) {
      this.#received = this.#receivedInJoin;
    }
    this.#inJoin = false;
    this.#receivedInJoin = null;
  }

  #enqueue(event) {
    this.#queue.push(event);
    if (!this.#pumping) this.#pump();
  }

  /** Ends delivery without telling the hub (the client is stopping, or unsubscribe() tells it). */
  close() {
    this.#closed = true;
    // Nothing more is handed over, so a flush has nothing left to wait for.
    for (const item of this.#queue) if (item instanceof Flush) item.done();
    this.#queue = [];
    this.#endedSignal();
  }

  /** Calls the handler for each queued event, one at a time: an async handler finishes before the next event. A
   *  synchronous one is not awaited, so that it has every event as soon as it is routed: all of a replay or a snapshot
   *  before subscribe() resolves, also when the last of them came with the hub's answer. */
  async #pump() {
    this.#pumping = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      for (const [index, item] of batch.entries()) {
        if (this.#closed) {
          for (const left of batch.slice(index)) if (left instanceof Flush) left.done();
          break;
        }
        if (this.#consume !== null) {
          this.#consume(item);
          continue;
        }
        if (isSignal(item)) {
          if (item instanceof Flush) item.done();
          if (item instanceof JoinEnded && item.join.result !== null) this.#moveOn(item.join.result.resumeAfter);
          continue;
        }
        try {
          const handled = this.#handler(item);
          if (typeof handled?.then === "function") await handled;
        } catch (error) {
          // One handler's failure must not stop the events after it, nor other subscriptions.
          this.#reportHandlerError(error, item, this);
        }
        // A snapshot row's id 0 is no point to resume after: `after: 0` would replay the whole log.
        if (!isSnapshotRow(item)) {
          if (this.#lastId === null || item.id > this.#lastId) this.#lastId = item.id;
          this.#moveOn(item.id);
        }
      }
    }
    this.#pumping = false;
  }

  #moveOn(id) {
    if (this.#continueAfter === null || id > this.#continueAfter) this.#continueAfter = id;
  }
}

const isSnapshotRow = (event) => event.operation === "SNAPSHOT";
