// Resuming from a stored id: in a new process, after the events it needed were pruned (a gap), and from where the
// subscription or view before it stopped (continueAfter).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Received, range } from "./support/received.js";
import { SocketCutter } from "./support/socket-cutter.js";
import { generator } from "./support/random.js";
import { ZgresSubscription } from "../src/index.js";
import { ITEMS, TEST_LIMIT, insertItems, itemsServer, newClient, onTestEnd, postgresForThisFile } from "./support/harness.js";

// The log keeps only the newest 5 events, pruned five times a second.
const TINY_RETENTION = { Zgres__Retention__MaxEvents: "5", Zgres__Retention__PruneInterval: "00:00:00.200" };
const consumerScript = fileURLToPath(new URL("./support/consumer.js", import.meta.url));
const cluster = postgresForThisFile();

/** Runs support/consumer.js; `lines` yields what it prints, parsed. */
function startConsumer(t, url, afterId, count) {
  const child = spawn(process.execPath, [consumerScript, url, ITEMS, String(afterId ?? "none"), String(count)], { stdio: ["ignore", "pipe", "inherit"] });
  onTestEnd(t, () => { if (child.exitCode === null) child.kill("SIGKILL"); });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const printed = [];
  return {
    /** The next line; fails (instead of waiting for the test's limit) when none comes within a minute. */
    async next() {
      let timer;
      const silence = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`The consumer printed nothing more for a minute; it printed:\n${printed.join("\n")}`)), 60_000);
      });
      try {
        const { value, done } = await Promise.race([lines.next(), silence]);
        assert.ok(!done, `The consumer exited before printing what was expected; it printed:\n${printed.join("\n")}`);
        printed.push(value);
        return JSON.parse(value);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Reads seq lines up to the lastId line (a replay may come before the { subscribed } line, which is skipped). */
async function readSeqsAndLastId(consumer) {
  const seqs = [];
  for (;;) {
    const line = await consumer.next();
    if ("lastId" in line) return { seqs, lastId: line.lastId };
    if ("seq" in line) seqs.push(line.seq);
  }
}

test("a client in a new process that resumes after its stored lastId gets every later event once, in order", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());

  const first = startConsumer(t, server.url, null, 10);
  assert.deepEqual(await first.next(), { subscribed: true });
  await insertItems(database, 1, 20, 2);
  const firstRun = await readSeqsAndLastId(first);
  assert.deepEqual(firstRun.seqs, range(1, 10));

  await insertItems(database, 21, 30);
  const second = startConsumer(t, server.url, firstRun.lastId, 20);
  const secondRun = await readSeqsAndLastId(second);

  assert.deepEqual(secondRun.seqs, range(11, 30));
  assert.ok(secondRun.lastId > firstRun.lastId);
});

test("a resume after its events were pruned reports a gap and starts at the oldest event kept", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster(), { settings: TINY_RETENTION });
  const client = newClient(t, server.url);
  const gaps = [];
  client.onGap((gap) => gaps.push(gap));
  await client.start();
  const live = new Received();
  const subscription = await client.subscribe(ITEMS, {}, live.handler);
  await insertItems(database, 1, 3);
  await live.untilSeq(3);
  const storedId = subscription.lastId;
  await subscription.unsubscribe();

  await insertItems(database, 4, 20);
  await untilTrue(async () => Number(await database.sql("SELECT count(*) FROM zgres.events")) === 5);
  const resumed = new Received();
  await client.subscribe(ITEMS, { after: storedId }, resumed.handler);
  await insertItems(database, 21, 21);
  await resumed.untilSeq(21);

  assert.deepEqual(gaps, [{ table: ITEMS, inputId: null, filter: null, after: storedId }]);
  assert.deepEqual(resumed.seqs, range(16, 21));
});

test("a client cut off for longer than retention keeps its events reports a gap when it is back, and goes on from the oldest event kept", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster(), { settings: TINY_RETENTION });
  const cutter = await SocketCutter.start(server.port);
  onTestEnd(t, () => cutter.close());
  const client = newClient(t, cutter.url);
  const gaps = [];
  client.onGap((gap) => gaps.push(gap));
  // The hub answers a resume (gap or not) after it has sent the replay, so the gap is reported after its events.
  const backWithGap = new Promise((resolve) => client.onGap(resolve));
  await client.start();
  const received = new Received();
  await client.subscribe(ITEMS, received.handler);
  await insertItems(database, 1, 3);
  await received.untilSeq(3);

  assert.ok(cutter.cutOff() > 0);
  await insertItems(database, 4, 20);
  await untilTrue(async () => Number(await database.sql("SELECT count(*) FROM zgres.events")) === 5);
  cutter.reopen();
  await Promise.all([backWithGap, received.untilSeq(20)]);

  assert.deepEqual(gaps, [{ table: ITEMS, inputId: null, filter: null, after: received.events[2].id }]);
  assert.deepEqual(received.seqs, [...range(1, 3), ...range(16, 20)]);
});

test("subscriptions and live views that each continue after the one before, switched while a writer writes, show every row once", TEST_LIMIT, async (t) => {
  // As the demo page switches: a plain subscription continues after its predecessor's continueAfter; a view starts
  // from a snapshot, which stands for the rows before it. Every choice but the timing comes from the seed.
  const seed = Number(process.env.ZGRES_SWITCH_SEED ?? Math.floor(Math.random() * 1_000_000));
  const random = generator(seed);
  const rows = 600;
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  await client.start();

  const shownIds = new Set();
  const shownSeqs = new Set();
  const shown = new Received();
  const show = (event) => {
    if (shownIds.has(event.id)) return; // a continuing resume may repeat an event with an id below its point
    shownIds.add(event.id);
    shownSeqs.add(event.data.seq);
    shown.handler(event);
  };
  const loaded = new Set(); // seqs in the views' snapshots
  const stages = [];
  let previous = await client.subscribe(ITEMS, { after: null }, show);
  stages.push("plain");
  // One row per transaction, about a millisecond apart, so that rows commit while the stages switch.
  const statements = range(1, rows).flatMap((seq) => [`INSERT INTO items (input_id, seq) VALUES (${seq % 3}, ${seq})`, "SELECT pg_sleep(0.001)"]);
  let writing = true;
  const written = database.sql(...statements).finally(() => { writing = false; });

  // Within the server's limit on a connection's subscribes (a burst of Zgres:Limits:MaxSubscriptionsPerConnection, 100
  // by default, then SubscribesPerSecond), however fast this machine switches: the last stage then stays while the
  // writer finishes. Three fifths of the burst, as its .NET twin in LiveViewTests.
  const maxStages = 60;
  while (writing && stages.length < maxStages) {
    await new Promise((resolve) => setTimeout(resolve, random.below(20)));
    const after = previous.continueAfter;
    await (previous instanceof ZgresSubscription ? previous.unsubscribe() : previous.close());
    if (random.below(3) === 0) {
      const view = client.liveQuery(ITEMS);
      view.onChange((change) => change.events.forEach(show));
      await view.ready;
      for (const row of view.rows.values()) loaded.add(row.seq);
      previous = view;
      stages.push("view");
    } else {
      previous = await client.subscribe(ITEMS, { after }, show);
      stages.push(`plain after ${after}`);
    }
  }
  await written;
  const describe = `seed ${seed} (replay with ZGRES_SWITCH_SEED=${seed}), stages: ${stages.join(", ")}`;
  const missing = () => range(1, rows).filter((seq) => !loaded.has(seq) && !shownSeqs.has(seq));
  await shown.until(() => missing().length === 0, "every row shown or in a view's snapshot")
    .catch(() => assert.fail(`${describe}: rows neither shown nor in a view's snapshot: ${missing().join(",")}`));
  assert.ok(stages.length > 5, `${describe}: the writer finished before the stages switched`);
});

/** Asks again (every 100 ms) until the database says yes: retention runs on the server's own timer. */
async function untilTrue(condition) {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 100));
}
