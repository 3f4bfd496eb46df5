// A live view's rows alone, without a server: events applied by key between joins, and a join's events folded (each
// row takes its newest) so that repeats and replays out of commit order never set a row back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveRows, rowKey } from "../src/live-rows.js";
import { JoinBegan, JoinEnded } from "../src/signals.js";

const self = {};
const event = (id, operation, data, old = null, inFilter) => ({ id, operation, data, old, inFilter, group: "table:public.orders" });
const row = (id, v) => event(0, "SNAPSHOT", { id, v }, null, true);
const update = (id, key, v) => event(id, "UPDATE", { id: key, v }, { id: key, v: "?" });
const insert = (id, key, v) => event(id, "INSERT", { id: key, v });
const contents = (rows) => [...rows.rows].map(([key, value]) => `${key} ${value.v}`).sort();
const summary = (changes) => [...[...changes.added.keys()].map((k) => `+${k}`), ...[...changes.updated.keys()].map((k) => `~${k}`), ...[...changes.removed.keys()].map((k) => `-${k}`)].join(" ");

function begin(rows, snapshot) {
  const join = { key: "k", subscriptions: snapshot ? [self] : [], snapshot, result: null, failure: null };
  rows.take(new JoinBegan(join), self);
  return join;
}

function end(rows, join, gap = false, resumeAfter = 0) {
  join.result = { group: "table:public.orders", gap, key: ["id"], resumeAfter };
  return rows.take(new JoinEnded(join), self);
}

function loaded(snapshot) {
  const rows = new LiveRows();
  const join = begin(rows, true);
  for (const item of snapshot) rows.take(item, self);
  end(rows, join);
  return rows;
}

test("the position is the newest id at the last join taken in, or the highest id applied since; a gap leaves it", () => {
  const rows = new LiveRows();
  assert.equal(rows.position, null);
  const snapshot = begin(rows, true);
  rows.take(row(1, "a"), self);
  rows.take(insert(40, 2, "b"), self);
  end(rows, snapshot, false, 50);
  assert.equal(rows.position, 50);

  rows.take(insert(52, 3, "c"), self);
  assert.equal(rows.position, 52);

  // A join's events count once it ends, as the rows show them then; the highest of them, if above the join's point.
  const resume = begin(rows, false);
  rows.take(insert(60, 4, "d"), self);
  assert.equal(rows.position, 52);
  end(rows, resume, false, 58);
  assert.equal(rows.position, 60);

  // A resume that found a gap leaves the rows, and their position, until a new snapshot.
  const gapped = begin(rows, false);
  rows.take(insert(70, 5, "e"), self);
  end(rows, gapped, true, 80);
  assert.equal(rows.position, 60);
  rows.take(insert(81, 6, "f"), self);
  assert.equal(rows.position, 60);
});

test("between joins, inserts, updates, moves out, deletes and a truncate are applied as they come", () => {
  const rows = loaded([row(1, "a"), row(2, "b")]);
  assert.equal(summary(rows.take(insert(10, 3, "c"), self)), "+3");
  assert.equal(summary(rows.take(update(11, 1, "a2"), self)), "~1");
  assert.equal(summary(rows.take(event(12, "UPDATE", { id: 2 }, { id: 2, v: "b" }, false), self)), "-2");
  assert.equal(summary(rows.take(event(13, "UPDATE", { id: 5, v: "c" }, { id: 3, v: "c" }), self)), "+5 -3");
  assert.deepEqual(contents(rows), ["1 a2", "5 c"]);
  assert.equal(summary(rows.take(event(14, "TRUNCATE", {}), self)), "-1 -5");
});

test("a resume that replays older events after newer ones never sets a row back, and shows nothing until it ends", () => {
  const rows = loaded([row(1, "a"), row(2, "b")]);
  rows.take(update(20, 1, "a20"), self);
  const resume = begin(rows, false);
  for (const item of [update(22, 2, "b22"), update(15, 1, "a15"), update(18, 2, "b18"), update(20, 1, "a20"), update(22, 2, "b22"), insert(21, 3, "c21"), event(19, "DELETE", { id: 3 })]) {
    assert.equal(rows.take(item, self), null);
  }
  assert.deepEqual(contents(rows), ["1 a20", "2 b"]);
  assert.equal(summary(end(rows, resume)), "+3 ~2");
  assert.deepEqual(contents(rows), ["1 a20", "2 b22", "3 c21"]);
});

test("a truncate in a join removes only the rows whose newest event is older than it", () => {
  const rows = loaded([row(1, "a"), row(2, "b")]);
  const resume = begin(rows, false);
  for (const item of [update(30, 1, "a30"), event(25, "TRUNCATE", {}), insert(26, 4, "d26"), insert(24, 5, "e24")]) rows.take(item, self);
  end(rows, resume);
  assert.deepEqual(contents(rows), ["1 a30", "4 d26"]);
});

test("its own snapshot builds the rows from the snapshot and the join's events, whatever their order", () => {
  const rows = new LiveRows();
  const join = begin(rows, true);
  for (const item of [update(8, 1, "a8"), row(1, "a8"), row(2, "b9"), update(11, 2, "b11"), update(11, 2, "b11"), update(9, 2, "b9"), event(12, "UPDATE", { id: 1 }, { id: 1 }, false)]) {
    rows.take(item, self);
  }
  assert.equal(rows.rows.size, 0);
  assert.equal(end(rows, join).kind, "loaded");
  assert.deepEqual(contents(rows), ["2 b11"]);
});

test("a gap keeps the rows and asks for a snapshot, whose rows then replace them as a resync", () => {
  const rows = loaded([row(1, "a"), row(2, "b")]);
  const resume = begin(rows, false);
  rows.take(update(40, 1, "a40"), self);
  assert.equal(end(rows, resume, true), null);
  assert.equal(rows.needsSnapshot, true);
  assert.equal(rows.take(update(41, 2, "b41"), self), null);
  const snapshot = begin(rows, true);
  rows.take(row(2, "b41"), self);
  rows.take(row(3, "c"), self);
  const resynced = end(rows, snapshot);
  assert.equal(resynced.kind, "resynced");
  assert.equal(summary(resynced), "+3 ~2 -1");
});

test("a resume cut by a lost connection stays held until the next join of the group ends", () => {
  const rows = loaded([row(1, "a")]);
  const cut = begin(rows, false);
  rows.take(update(50, 1, "a50"), self);
  cut.failure = new Error("lost");
  assert.equal(rows.take(new JoinEnded(cut), self), null);
  assert.equal(rows.isHolding, true);
  const next = begin(rows, false);
  rows.take(update(49, 1, "a49"), self);
  end(rows, next);
  assert.deepEqual(contents(rows), ["1 a50"]);
});

test("a resume cut after its replay was marked as finding a gap keeps the rows and asks for a snapshot", () => {
  const rows = loaded([row(1, "a")]);
  const cut = begin(rows, false);
  cut.replayGap = true;
  rows.take(update(50, 1, "a50"), self);
  cut.failure = new Error("lost");
  assert.equal(rows.take(new JoinEnded(cut), self), null);
  // The next join resumes after the gap and will not say so: the rows must not take it in as a plain resume.
  assert.equal(rows.needsSnapshot, true);
  assert.equal(rows.isHolding, false);
  const next = begin(rows, false);
  rows.take(update(51, 1, "a51"), self);
  assert.equal(end(rows, next), null);
  assert.deepEqual(contents(rows), ["1 a"]);
});

test("a row's key is its key column's value, or the JSON array of several", () => {
  assert.equal(rowKey({ id: 42 }, ["id"]), "42");
  assert.equal(rowKey({ code: "a b" }, ["code"]), "a b");
  assert.equal(rowKey({ region: 7, code: 'a"b' }, ["region", "code"]), '[7,"a\\"b"]');
  assert.equal(rowKey({ v: 1 }, ["id"]), null);
});
