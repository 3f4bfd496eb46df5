// The client's own promises, each against the real server: refusals, streams, shared groups, failing handlers,
// connecting before the server is up, and the token factory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "./support/ports.js";
import { Received, range } from "./support/received.js";
import { ITEMS, TEST_LIMIT, insertItems, itemsDatabase, itemsServer, newClient, postgresForThisFile, startServer } from "./support/harness.js";
import { SubscriptionRefusedError } from "../src/index.js";

const cluster = postgresForThisFile();

test("a refused subscribe rejects with the server's message and the client stays usable", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  await database.sql("CREATE TABLE hidden (id int)");
  const client = newClient(t, server.url);
  await client.start();

  await assert.rejects(client.subscribe("hidden", {}, () => {}), (error) => {
    assert.ok(error instanceof SubscriptionRefusedError);
    // The server's own sentence, without SignalR's wrapping ("An unexpected error occurred invoking ...").
    assert.match(error.message, /^Table 'public\.hidden' is not exposed by this server/);
    assert.equal(error.table, "public.hidden");
    return true;
  });
  await assert.rejects(client.subscribe(ITEMS, { inputId: "" }, () => {}),
    { name: "SubscriptionRefusedError", message: "inputId must not be empty; use null to follow the whole table." });

  const received = new Received();
  await client.subscribe(ITEMS, received.handler); // options left out
  await insertItems(database, 1, 1);
  await received.untilSeq(1);
  assert.equal(client.state, "connected");
});

test("stream() yields events in order and ends when its signal aborts, mid-batch or while waiting, or when the client stops", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  await client.start();
  await insertItems(database, 1, 10, 10);

  const midBatch = new AbortController();
  const firstFive = [];
  for await (const event of client.stream("items", { after: 0, signal: midBatch.signal })) {
    firstFive.push(event.data.seq);
    if (event.data.seq === 5) midBatch.abort();
  }
  assert.deepEqual(firstFive, range(1, 5));

  const whileWaiting = new AbortController();
  const all = new Received();
  const consuming = (async () => {
    for await (const event of client.stream(ITEMS, { after: 0, signal: whileWaiting.signal })) all.handler(event);
  })();
  await all.untilSeq(10);
  whileWaiting.abort();
  await consuming;
  assert.deepEqual(all.seqs, range(1, 10));

  // With no signal, stop() ends it.
  const untilStopped = new Received();
  const consumingUntilStop = (async () => {
    for await (const event of client.stream(ITEMS, { after: 0 })) untilStopped.handler(event);
  })();
  await untilStopped.untilSeq(10);
  await client.stop();
  await consumingUntilStop;
  assert.deepEqual(untilStopped.seqs, range(1, 10));
});

test("two subscriptions of one group share it until both are gone", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  await client.start();
  const first = new Received();
  const second = new Received();
  const firstSubscription = await client.subscribe(ITEMS, { inputId: 1 }, first.handler);
  const secondSubscription = await client.subscribe(ITEMS, { inputId: "1" }, second.handler);

  await insertItems(database, 1, 6);
  await Promise.all([first.untilSeq(4), second.untilSeq(4)]);
  await firstSubscription.unsubscribe();
  await insertItems(database, 7, 12);
  await second.untilSeq(10);
  assert.deepEqual(first.seqs, [1, 4]);
  assert.deepEqual(second.seqs, [1, 4, 7, 10]);
  assert.equal(firstSubscription.lastId, first.events[1].id);

  await secondSubscription.unsubscribe();
  const third = new Received();
  await client.subscribe(ITEMS, { inputId: 1 }, third.handler);
  await insertItems(database, 13, 13);
  await third.untilSeq(13);
  assert.deepEqual(third.seqs, [13]);
  assert.deepEqual(second.seqs, [1, 4, 7, 10]);
});

test("a second subscription of a followed group, joining with after while rows are written, gets its replay then the live rows in order, and the first none of that replay", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  await client.start();
  await insertItems(database, 1, 200, 200);
  const first = new Received();
  await client.subscribe(ITEMS, first.handler);
  let next = 201;
  let writing = true;
  const writer = (async () => {
    for (; writing; next++) await insertItems(database, next, next);
  })();
  await first.untilSeq(230);

  const second = new Received();
  await client.subscribe(ITEMS, { after: 0 }, second.handler);
  await first.untilSeq(next + 30);
  writing = false;
  await writer;
  const last = next - 1;
  await Promise.all([first.untilSeq(last), second.untilSeq(last)]);
  await new Promise((resolve) => setTimeout(resolve, 300));

  assert.deepEqual(second.seqs, range(1, last));
  assert.ok(first.seqs[0] > 200, `the first subscription began at seq ${first.seqs[0]}, inside the second's replay`);
  assert.deepEqual(first.seqs, range(first.seqs[0], last));
});

test("a handler that throws neither stops its own later events nor other subscriptions' events", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  const failures = [];
  client.onHandlerError((error, event) => failures.push([error.message, event.data.seq]));
  await client.start();
  const failing = new Received();
  const healthy = new Received();
  await client.subscribe(ITEMS, {}, async (event) => {
    failing.handler(event);
    if (event.data.seq === 2) throw new Error("handler broke");
  });
  await client.subscribe(ITEMS, {}, (event) => {
    healthy.handler(event);
    if (event.data.seq === 3) throw new Error("this one too");
  });
  // Both groups of an event: the input subscription still gets it once.
  const input = new Received();
  await client.subscribe(ITEMS, { inputId: 2 }, input.handler);

  await insertItems(database, 1, 5);
  await Promise.all([failing.untilSeq(5), healthy.untilSeq(5), input.untilSeq(5)]);

  assert.deepEqual(failing.seqs, range(1, 5));
  assert.deepEqual(healthy.seqs, range(1, 5));
  assert.deepEqual(input.seqs, [2, 5]);
  assert.deepEqual(failures.sort(), [["handler broke", 2], ["this one too", 3]]);
});

test("start() keeps trying until the server comes up, and the token factory is called on every connect", TEST_LIMIT, async (t) => {
  const database = await itemsDatabase(cluster());
  const port = await freePort();
  let tokensIssued = 0;
  let firstTokenRequested;
  const tokenRequested = new Promise((resolve) => { firstTokenRequested = resolve; });
  const client = newClient(t, `http://127.0.0.1:${port}`, {
    accessTokenFactory: () => {
      firstTokenRequested();
      return `token-${++tokensIssued}`;
    },
  });
  const states = [];
  client.onStateChanged((current) => states.push(current));
  const starting = client.start();
  await tokenRequested; // the first attempt, which finds no server

  const server = await startServer(t, database, { port });
  await starting;
  const received = new Received();
  await client.subscribe(ITEMS, {}, received.handler);
  const tokensAtFirstConnect = tokensIssued;
  const reconnected = new Promise((resolve) => client.onStateChanged((current) => current === "connected" && resolve()));
  await server.kill();
  await startServer(t, database, { port });
  await reconnected;
  await insertItems(database, 1, 1);
  await received.untilSeq(1);

  assert.ok(tokensIssued > tokensAtFirstConnect, "the token factory was not called again for the reconnect");
  assert.deepEqual(states, ["connecting", "connected", "reconnecting", "connected"]);
});

test("a truncate reaches the whole table's subscription and each input subscription of the table, once each", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  await client.start();
  const table = new Received();
  const one = new Received();
  const two = new Received();
  await client.subscribe(ITEMS, table.handler);
  await client.subscribe(ITEMS, { inputId: 1 }, one.handler);
  await client.subscribe(ITEMS, { inputId: 2 }, two.handler);

  await database.sql("TRUNCATE items");
  await insertItems(database, 1, 2); // input 1 and input 2: each subscription's next event comes after the truncate

  const truncatedThenSeq = (seq) => (events) => events.some((event) => event.data.seq === seq);
  await Promise.all([table.until(truncatedThenSeq(2)), one.until(truncatedThenSeq(1)), two.until(truncatedThenSeq(2))]);
  for (const received of [table, one, two]) {
    assert.equal(received.events.filter((event) => event.operation === "TRUNCATE").length, 1);
    assert.equal(received.events[0].operation, "TRUNCATE");
  }
});
