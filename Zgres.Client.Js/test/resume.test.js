// Resuming from a stored id: in a new process, and after the events it needed were pruned (a gap).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Received, range } from "./support/received.js";
import { ITEMS, TEST_LIMIT, insertItems, itemsServer, newClient, onTestEnd, postgresForThisFile } from "./support/harness.js";

const consumerScript = fileURLToPath(new URL("./support/consumer.js", import.meta.url));
const cluster = postgresForThisFile();

/** Runs support/consumer.js; `lines` yields what it prints, parsed. */
function startConsumer(t, url, afterId, count) {
  const child = spawn(process.execPath, [consumerScript, url, ITEMS, String(afterId ?? "none"), String(count)], { stdio: ["ignore", "pipe", "inherit"] });
  onTestEnd(t, () => { if (child.exitCode === null) child.kill("SIGKILL"); });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async next() {
      const { value, done } = await lines.next();
      assert.ok(!done, "The consumer exited before printing what was expected.");
      return JSON.parse(value);
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
  const { database, server } = await itemsServer(t, cluster(), {
    settings: { Zgres__Retention__MaxEvents: "5", Zgres__Retention__PruneInterval: "00:00:00.200" },
  });
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

  assert.deepEqual(gaps, [{ table: ITEMS, inputId: null, after: storedId }]);
  assert.deepEqual(resumed.seqs, range(16, 21));
});

/** Asks again (every 100 ms) until the database says yes: retention runs on the server's own timer. */
async function untilTrue(condition) {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 100));
}
