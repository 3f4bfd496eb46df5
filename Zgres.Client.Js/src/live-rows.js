// A live view's rows, kept equal to its query at a point of the stream from what routing hands its subscription:
// snapshot rows, events, and the beginnings and ends of joins of its group. The rules are the .NET client's
// (Zgres.Client/LiveQueries/LiveRows.cs), where they are explained at length:
// - between joins a group's events come once each and in commit order, and are applied as they come;
// - while a join of the group is in flight (the view's own snapshot, a resume after a reconnect, another subscription
//   of the same group joining) they may repeat and come out of commit order, so they are held until the join ends and
//   then folded: each row takes its newest event (per row, event ids follow commit order, since a writer holds the
//   row's lock from the moment its event id is taken until it commits), and a TRUNCATE removes every row whose newest
//   event is older than it. The rows change only when the join ends: they never show half a join.
import { JoinBegan, JoinEnded } from "./signals.js";

/**
 * A row's primary key as one string: the value of a one-column key (a text as it is, any other value as its JSON:
 * "42", "true"), or the JSON array of the values of a composite one ('[7,"a"]'); null when the row lacks a key column.
 */
export function rowKey(row, columns) {
  if (row === null || typeof row !== "object" || columns.length === 0) return null;
  if (columns.length === 1) {
    if (!(columns[0] in row)) return null;
    const value = row[columns[0]];
    return typeof value === "string" ? value : JSON.stringify(value);
  }
  if (!columns.every((column) => column in row)) return null;
  return JSON.stringify(columns.map((column) => row[column]));
}

export class LiveRows {
  /** The rows now, by key. Changed in place, one whole event (or join) at a time. */
  rows = new Map();
  /** The table's primary key columns, as the hub's answer named them. */
  key = [];
  /** The point of the stream the rows stand at, as an `after` to continue from: the hub's newest id at the last join
   *  they took in, or the highest id applied since (null before the first). */
  position = null;
  #window = null;
  #hasSnapshot = false;
  #needsSnapshot = true;

  /** Whether the rows equal the query at a point of the stream: a snapshot was taken and no gap found since. */
  get isCurrent() {
    return this.#hasSnapshot && !this.#needsSnapshot;
  }

  /** Whether a join of the group is in flight (the rows wait for its end). */
  get isHolding() {
    return this.#window !== null;
  }

  /** Whether the view needs a snapshot of its own (never had one, the last one was cut, or a resume found a gap). */
  get needsSnapshot() {
    return this.#needsSnapshot;
  }

  /** Takes in one routed item (an event or a signal); returns what changed in the rows, or null. */
  take(item, self) {
    if (item instanceof JoinBegan) return this.#begin(item.join, self);
    if (item instanceof JoinEnded) return this.#end(item.join);
    return this.#takeEvent(item);
  }

  #begin(join, self) {
    if (join.snapshot && join.subscriptions.includes(self)) {
      // A snapshot of its own replaces whatever was held: the new rows are built from it alone.
      this.#window = { join, snapshot: [], events: [] };
      return null;
    }
    if (this.#needsSnapshot) return null;
    // A join cut by a lost connection left its window open: the next join of the group carries on with it.
    this.#window = this.#window === null ? { join, snapshot: null, events: [] } : { ...this.#window, join };
    return null;
  }

  #takeEvent(event) {
    const window = this.#window;
    if (window !== null) {
      if (event.operation !== "SNAPSHOT") window.events.push(event);
      else window.snapshot?.push(event.data);
      return null;
    }
    if (this.#needsSnapshot || event.operation === "SNAPSHOT") return null;
    this.#moveTo(event.id);
    return this.#fold([event], null);
  }

  #end(join) {
    const window = this.#window;
    if (window === null || window.join !== join) return null;
    if (join.failure) {
      // A resume cut off carries on in the next join, unless its replay's beginning said it found a gap: that join will
      // not (it resumes after what this one brought), and only a new snapshot can tell what changed. A snapshot cut
      // short or refused: the rows stay as they were until the next one.
      if (window.snapshot === null && join.replayGap !== true) return null;
      this.#window = null;
      this.#needsSnapshot = true;
      return null;
    }
    this.#window = null;
    if (join.result.key?.length > 0) this.key = join.result.key;
    if (window.snapshot === null && join.result.gap) {
      // The log no longer held every event since the view's point: only a new snapshot can tell what changed.
      this.#needsSnapshot = true;
      return null;
    }
    const changes = this.#fold(window.events, window.snapshot);
    for (const event of window.events) this.#moveTo(event.id);
    this.#moveTo(join.result.resumeAfter);
    if (window.snapshot === null) return changes;
    changes.kind = this.#hasSnapshot ? "resynced" : "loaded";
    this.#hasSnapshot = true;
    this.#needsSnapshot = false;
    return changes;
  }

  #moveTo(id) {
    if (this.position === null || id > this.position) this.position = id;
  }

  /** Applies events (each row taking its newest) onto the rows held, or onto a snapshot's rows, and says which rows
   *  were added, updated and removed. */
  #fold(events, fresh) {
    const newest = new Map();
    let truncatedAt = -1;
    const newer = (key, id, row) => {
      const known = newest.get(key);
      if (known === undefined || id > known.id) newest.set(key, { id, row });
    };
    for (const event of events) {
      if (event.operation === "TRUNCATE") {
        truncatedAt = Math.max(truncatedAt, event.id);
        continue;
      }
      const present = (event.operation === "INSERT" || event.operation === "UPDATE") && event.inFilter !== false;
      const key = rowKey(event.data, this.key);
      if (key !== null) newer(key, event.id, present ? event.data : null);
      // An UPDATE that changed the key leaves the old key behind.
      const before = event.old ? rowKey(event.old, this.key) : null;
      if (before !== null && before !== key) newer(before, event.id, null);
    }
    const changes = { kind: "applied", added: new Map(), updated: new Map(), removed: new Map(), events };
    if (fresh === null) return this.#applyInPlace(newest, truncatedAt, changes);
    const next = new Map();
    for (const row of fresh) {
      const key = rowKey(row, this.key);
      if (key !== null) next.set(key, row);
    }
    if (truncatedAt >= 0) {
      for (const key of [...next.keys()]) if ((newest.get(key)?.id ?? -1) < truncatedAt) next.delete(key);
    }
    for (const [key, { id, row }] of newest) {
      if (row !== null && id > truncatedAt) next.set(key, row);
      else next.delete(key);
    }
    for (const [key, row] of next) {
      const before = this.rows.get(key);
      if (before === undefined) changes.added.set(key, row);
      else if (!sameRow(before, row)) changes.updated.set(key, row);
    }
    for (const [key, row] of this.rows) if (!next.has(key)) changes.removed.set(key, row);
    this.rows.clear();
    for (const [key, row] of next) this.rows.set(key, row);
    return changes;
  }

  /** The same fold onto the rows held, touching only the rows the events name (a TRUNCATE touches all). */
  #applyInPlace(newest, truncatedAt, changes) {
    if (truncatedAt >= 0) {
      for (const [key, row] of [...this.rows]) {
        if ((newest.get(key)?.id ?? -1) >= truncatedAt) continue;
        this.rows.delete(key);
        changes.removed.set(key, row);
      }
    }
    for (const [key, { id, row }] of newest) {
      const before = this.rows.get(key);
      if (row !== null && id > truncatedAt) {
        this.rows.set(key, row);
        if (before === undefined) changes.added.set(key, row);
        else if (!sameRow(before, row)) changes.updated.set(key, row);
      } else if (before !== undefined) {
        this.rows.delete(key);
        changes.removed.set(key, before);
      }
    }
    return changes;
  }
}

// Rows as PostgreSQL wrote them keep their columns in table order, so equal rows have equal JSON.
const sameRow = (a, b) => JSON.stringify(a) === JSON.stringify(b);
