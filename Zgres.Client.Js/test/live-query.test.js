// Live queries against the real server: a filter on subscribe, events routed by the group they name, and a snapshot
// that the stream continues with no change missed or doubled, also across a server restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Received } from "./support/received.js";
import { TEST_LIMIT, newClient, onTestEnd, postgresForThisFile, startServer } from "./support/harness.js";
import { SocketCutter } from "./support/socket-cutter.js";
import { SubscriptionRefusedError } from "../src/index.js";
import { writeOrders } from "./support/views.js";

const cluster = postgresForThisFile();

const ORDERS = "public.orders";
const OPEN_ORDERS = [{ column: "status", op: "in", value: ["open", "held"] }];

/** A new database holding an `orders` table with `rows` rows, and a server watching it. */
async function ordersServer(t, rows = 0) {
  const database = await cluster().createDatabase();
  await database.sql(
    "CREATE TABLE orders (id bigserial PRIMARY KEY, input_id int, status text, total int)",
    `INSERT INTO orders (input_id, status, total) SELECT g % 50, (ARRAY['open','held','closed','void'])[1 + g % 4], g % 1000 FROM generate_series(1, ${rows}) g`);
  const server = await startServer(t, database, { tables: [ORDERS] });
  return { database, server };
}

/** "INSERT 2 in": what a view does with an event (keep or drop which row). */
const describe = (event) => `${event.operation} ${event.data.id ?? "-"} ${event.inFilter ? "in" : "out"}`;

test("a filtered subscription gets only matching rows, and rows moving out with inFilter false, each on its own group", TEST_LIMIT, async (t) => {
  const { database, server } = await ordersServer(t);
  const client = newClient(t, server.url);
  await client.start();
  const big = new Received();
  const small = new Received();
  const whole = new Received();
  const bigFilter = [{ column: "total", op: "gt", value: 100 }, { column: "status", op: "neq", value: "void" }];
  await client.subscribe(ORDERS, { filter: bigFilter }, big.handler);
  await client.subscribe(ORDERS, { filter: [{ column: "total", op: "lte", value: 100 }] }, small.handler);
  await client.subscribe(ORDERS, {}, whole.handler);

  await database.sql(
    "INSERT INTO orders (id, status, total) VALUES (1, 'open', 50), (2, 'open', 150), (3, 'void', 500), (4, 'open', NULL)",
    "UPDATE orders SET total = 200 WHERE id = 1", // big: moves in; small: moves out
    "UPDATE orders SET total = 250 WHERE id = 2", // big: stays in
    "UPDATE orders SET total = 10 WHERE id = 2",  // big: moves out; small: moves in
    "UPDATE orders SET total = 20 WHERE id = 2",  // big: stays out, not sent; small: stays in
    "DELETE FROM orders WHERE id = 1",            // big: was in
    "DELETE FROM orders WHERE id = 3",            // neither: never was
    "TRUNCATE orders",
    "INSERT INTO orders (id, status, total) VALUES (5, 'open', 999), (6, 'open', 0)"); // one last row for each
  await Promise.all([big.until((events) => events.some((e) => e.data.id === 5), "row 5"),
    small.until((events) => events.some((e) => e.data.id === 6), "row 6"),
    whole.until((events) => events.length === 13, "13 events")]);

  assert.deepEqual(big.events.map(describe),
    ["INSERT 2 in", "UPDATE 1 in", "UPDATE 2 in", "UPDATE 2 out", "DELETE 1 out", "TRUNCATE - out", "INSERT 5 in"]);
  assert.deepEqual(small.events.map(describe),
    ["INSERT 1 in", "UPDATE 1 out", "UPDATE 2 in", "UPDATE 2 in", "TRUNCATE - out", "INSERT 6 in"]);
  assert.notEqual(big.events[0].group, small.events[0].group);
  // A row moving out names its key only, none of the values that took it out; one moving in carries no old values.
  const movedOut = big.events.find((event) => event.operation === "UPDATE" && event.inFilter === false);
  assert.deepEqual([movedOut.data, movedOut.old.total], [{ id: 2 }, 250]);
  assert.equal(big.events.find((event) => event.operation === "UPDATE" && event.data.id === 1).old, null);
  // Whole-table events name their own group and say nothing of filters; the filtered groups' events did not reach it.
  assert.ok(whole.events.every((event) => event.group === `table:${ORDERS}` && event.inFilter === undefined));

  // stream() takes the same options: the matching row as it is now, then the changes.
  const done = new AbortController();
  const streamed = [];
  for await (const event of client.stream("orders", { filter: bigFilter, snapshot: true, signal: done.signal })) {
    streamed.push(describe(event));
    if (event.operation === "SNAPSHOT") await database.sql("INSERT INTO orders (id, status, total) VALUES (7, 'held', 300), (8, 'void', 300)");
    if (event.data.id === 7) done.abort();
  }
  assert.deepEqual(streamed, ["SNAPSHOT 5 in", "INSERT 7 in"]);
});

test("a bad filter rejects subscribe() with the server's message and the client stays usable", TEST_LIMIT, async (t) => {
  const { database, server } = await ordersServer(t);
  const client = newClient(t, server.url);
  await client.start();
  const filter = [{ column: "nope", op: "eq", value: 1 }];

  await assert.rejects(client.subscribe(ORDERS, { filter }, () => {}), (error) => {
    assert.ok(error instanceof SubscriptionRefusedError);
    assert.match(error.message, /^filter: column 'nope' is not published by this table/);
    assert.deepEqual(error.filter, filter);
    return true;
  });
  await assert.rejects(client.subscribe(ORDERS, { filter: [{ column: "total", op: "gt", value: "lots" }] }, () => {}),
    { name: "SubscriptionRefusedError", message: /gt value "lots": not a whole number/ });

  const received = new Received();
  await client.subscribe(ORDERS, { filter: [{ column: "status", op: "eq", value: "open" }] }, received.handler);
  await database.sql("INSERT INTO orders (status, total) VALUES ('closed', 1), ('open', 2)");
  await received.until((events) => events.length === 1, "the open row");
  assert.deepEqual(received.events.map((event) => event.data.total), [2]);
});

test("a snapshot of 5,000 rows under 2 writers, then its changes, leave a view equal to a SELECT, also across a server restart", TEST_LIMIT, async (t) => {
  const { database, server } = await ordersServer(t, 5_000);
  const client = newClient(t, server.url);
  await client.start();
  const writing = { stopped: false };
  const writers = [1, 2].map((writer) => writeOrders(database, writer, writing, { ids: 5_000 }));

  const view = new Map();
  let snapshotRows = 0;
  let lateSnapshotRows = 0;
  let subscribed = false;
  const received = new Received();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const subscription = await client.subscribe(ORDERS, { filter: OPEN_ORDERS, snapshot: true }, (event) => {
    if (event.operation === "SNAPSHOT" && subscribed) lateSnapshotRows++;
    else if (event.operation === "SNAPSHOT") snapshotRows++;
    if (event.operation === "TRUNCATE") view.clear();
    else if (event.inFilter) view.set(event.data.id, `${event.data.status}|${event.data.total}`);
    else view.delete(event.data.id);
    received.handler(event);
  });
  subscribed = true;
  assert.ok(snapshotRows > 1_000, `snapshot rows: ${snapshotRows}`);

  // A reconnect resumes the filtered subscription after its last event, without a new snapshot.
  await server.stop();
  await startServer(t, database, { port: server.port, tables: [ORDERS] });
  writing.stopped = true;
  await Promise.all(writers);
  // A last matching row: once it arrives, the view holds every change before it.
  const marker = Number(await database.sql("INSERT INTO orders (status, total) VALUES ('open', -1) RETURNING id"));
  await received.until((events) => events.some((event) => event.data.id === marker), `row ${marker}`);

  const expected = (await database.sql("SELECT id || '|' || status || '|' || total FROM orders WHERE status IN ('open', 'held')")).split("\n");
  const held = [...view].map(([id, row]) => `${id}|${row}`);
  assert.equal(held.length, expected.length);
  assert.deepEqual(held.sort(), expected.sort());
  // The snapshot rows all came before subscribe() resolved; the reconnect took no new one.
  assert.equal(lateSnapshotRows, 0);
  assert.ok(received.events.length > snapshotRows + 100, "too few changes arrived after the snapshot to test anything");
  assert.ok(subscription.lastId > 0);
});

test("a snapshot cut off by a lost connection rejects subscribe(), and subscribing again gives a whole, fresh snapshot", TEST_LIMIT, async (t) => {
  const { database, server } = await ordersServer(t, 20_000);
  const cutter = await SocketCutter.start(server.port);
  onTestEnd(t, () => cutter.close());
  const client = newClient(t, cutter.url);
  await client.start();

  let cut = false;
  const first = [];
  await assert.rejects(client.subscribe(ORDERS, { snapshot: true }, (event) => {
    first.push(event);
    if (!cut) {
      cut = true;
      cutter.cutAll();
    }
  }), /The connection was lost while the snapshot of public\.orders\/\* was being sent, after \d+ rows/);
  assert.ok(first.length > 0 && first.length < 20_000, `rows before the cut: ${first.length}`);

  const again = new Received();
  await client.subscribe(ORDERS, { snapshot: true }, again.handler);
  const snapshotRows = () => again.events.filter((event) => event.operation === "SNAPSHOT").length;
  await database.sql("UPDATE orders SET total = -1 WHERE id = 7");
  await again.until((events) => events.some((event) => event.operation === "UPDATE" && event.data.id === 7));
  assert.equal(snapshotRows(), 20_000);
});
