// ZgresSubscription alone, without a server: which events reach the handler, when, and where a resume would start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ZgresSubscription } from "../src/subscription.js";
import { JoinBegan, JoinEnded } from "../src/signals.js";

function subscription({ after = null, duplicateWindow = 100, handler = () => {} } = {}) {
  const errors = [];
  const created = new ZgresSubscription({
    table: "public.items", inputId: null, after, handler, duplicateWindow,
    leave: async () => {},
    reportHandlerError: (error, event) => errors.push([error.message, event.id]),
  });
  return { subscription: created, errors };
}

const event = (id) => ({ id, schema: "public", table: "items", inputId: null, data: {}, old: null });
const settled = () => new Promise((resolve) => setImmediate(resolve));

test("an id seen before is dropped, within the duplicate window", async () => {
  const handled = [];
  const { subscription: sub } = subscription({ duplicateWindow: 2, handler: (e) => handled.push(e.id) });
  for (const id of [1, 2, 1, 3, 2, 1]) sub.offer(event(id));
  await settled();
  // 1 was forgotten once 2 and 3 filled the window of two.
  assert.deepEqual(handled, [1, 2, 3, 1]);
});

test("an async handler finishes before the next event starts, and lastId follows finished calls", async () => {
  const log = [];
  let release;
  const { subscription: sub } = subscription({
    handler: async (e) => {
      log.push(`start ${e.id}`);
      if (e.id === 5) await new Promise((resolve) => { release = resolve; });
      log.push(`end ${e.id}`);
    },
  });
  sub.offer(event(5));
  sub.offer(event(7));
  await settled();
  assert.deepEqual(log, ["start 5"]);
  assert.equal(sub.lastId, null);
  release();
  await settled();
  assert.deepEqual(log, ["start 5", "end 5", "start 7", "end 7"]);
  assert.equal(sub.lastId, 7);
});

test("a synchronous handler has each event as it is offered, so what is routed before the hub's answer is in before subscribe() resolves", () => {
  const handled = [];
  const { subscription: sub } = subscription({ handler: (e) => handled.push(e.id) });
  for (const id of [1, 2, 3]) sub.offer(event(id));
  assert.deepEqual(handled, [1, 2, 3]);
  assert.equal(sub.lastId, 3);
});

test("a handler that throws is reported and the next events still reach it", async () => {
  const handled = [];
  const { subscription: sub, errors } = subscription({
    handler: (e) => {
      handled.push(e.id);
      if (e.id === 2) throw new Error("broken");
    },
  });
  for (const id of [1, 2, 3]) sub.offer(event(id));
  await settled();
  assert.deepEqual(handled, [1, 2, 3]);
  assert.deepEqual(errors, [["broken", 2]]);
  assert.equal(sub.lastId, 3);
});

test("the resume point is the caller's after, then the hub's answer, then the highest id received", () => {
  const { subscription: sub } = subscription({ after: 10 });
  assert.equal(sub.resumeAfter, 10);
  sub.joined(40);
  assert.equal(sub.resumeAfter, 40);
  sub.offer(event(30));
  assert.equal(sub.resumeAfter, 40);
  sub.offer(event(50));
  assert.equal(sub.resumeAfter, 50);
  // An older answer never moves it back.
  sub.joined(45);
  assert.equal(sub.resumeAfter, 50);
});

test("what a join brings moves the resume point once the hub answers it, and not at all when its answer is lost, so the next join can still hear of a gap", async () => {
  const handled = [];
  const { subscription: sub } = subscription({ after: 10, handler: (e) => handled.push(e.id) });
  sub.joined(10);
  // A resume whose replay arrives, then the connection goes before the answer (which said: gap).
  const lost = { result: null, failure: new Error("connection lost") };
  sub.signal(new JoinBegan(lost));
  sub.offer(event(90));
  sub.offer(event(91));
  sub.signal(new JoinEnded(lost));
  assert.equal(sub.resumeAfter, 10);
  // The next resume asks from 10 again; its repeats are dropped, and once answered what it brought counts.
  const answered = { result: { resumeAfter: 92, gap: true }, failure: null };
  sub.signal(new JoinBegan(answered));
  sub.offer(event(90));
  sub.offer(event(91));
  sub.offer(event(92));
  assert.equal(sub.resumeAfter, 10);
  sub.signal(new JoinEnded(answered));
  assert.equal(sub.resumeAfter, 92);
  await settled();
  assert.deepEqual(handled, [90, 91, 92]);
  // Live events after the join move it as they come.
  sub.offer(event(95));
  assert.equal(sub.resumeAfter, 95);
});

for (const replayGap of [false, true]) {
  test(`what a replay the hub marked as finding ${replayGap ? "a gap" : "no gap"} brings moves the resume point even when its answer is lost`, async () => {
    const handled = [];
    const { subscription: sub } = subscription({ after: 10, handler: (e) => handled.push(e.id) });
    sub.joined(10);
    // Cut in the middle of a long replay: the next resume goes on after what this one delivered (after a gap, which the
    // client reports itself: the next join will not find it again).
    const cut = { result: null, failure: new Error("connection lost"), replayGap };
    sub.signal(new JoinBegan(cut));
    sub.offer(event(90));
    sub.offer(event(91));
    assert.equal(sub.resumeAfter, 10);
    sub.signal(new JoinEnded(cut));
    assert.equal(sub.resumeAfter, 91);
    // A replay whose mark said nothing of a gap (a server of an earlier version) still counts only once answered.
    const unmarked = { result: null, failure: new Error("connection lost"), replayGap: null };
    sub.signal(new JoinBegan(unmarked));
    sub.offer(event(92));
    sub.signal(new JoinEnded(unmarked));
    assert.equal(sub.resumeAfter, 91);
    await settled();
    assert.deepEqual(handled, [90, 91, 92]);
  });
}

test("a gap is news to a subscription once for each point it resumed from", () => {
  const { subscription: sub } = subscription({ after: 10 });
  // A resume cut before it delivered anything asks again from 10 and finds the gap again: not news.
  assert.equal(sub.isNewGap(10), true);
  assert.equal(sub.isNewGap(10), false);
  assert.equal(sub.isNewGap(91), true);
});

test("without after, there is no resume point until the hub has answered", () => {
  const { subscription: sub } = subscription();
  assert.equal(sub.resumeAfter, null);
  sub.joined(0);
  assert.equal(sub.resumeAfter, 0);
});

test("snapshot rows, all id 0, are never dropped as repeats and move neither lastId nor the resume point", async () => {
  const handled = [];
  const { subscription: sub } = subscription({ handler: (e) => handled.push(`${e.operation} ${e.data.id}`) });
  const row = (id) => ({ ...event(0), operation: "SNAPSHOT", data: { id } });
  sub.offer(row(1));
  sub.offer(row(2));
  await settled();
  assert.deepEqual(handled, ["SNAPSHOT 1", "SNAPSHOT 2"]);
  assert.equal(sub.lastId, null);
  assert.equal(sub.resumeAfter, null);
  sub.joined(30);
  sub.offer({ ...event(31), operation: "INSERT", data: { id: 3 } });
  await settled();
  assert.equal(sub.lastId, 31);
  assert.equal(sub.resumeAfter, 31);
});

test("after unsubscribe no handler call starts", async () => {
  const handled = [];
  let sub;
  ({ subscription: sub } = subscription({
    handler: (e) => {
      handled.push(e.id);
      if (e.id === 1) sub.unsubscribe();
    },
  }));
  for (const id of [1, 2]) sub.offer(event(id));
  sub.offer(event(3));
  await settled();
  assert.deepEqual(handled, [1]);
});
