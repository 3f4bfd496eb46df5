// Live views against the real server: a query's rows kept equal to the database by the package itself, through
// moves, key changes, truncates, views sharing a group, gaps in the log and snapshots cut by a lost connection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Received } from "./support/received.js";
import { TEST_LIMIT, eventually, newClient, onTestEnd, postgresForThisFile, startServer } from "./support/harness.js";
import { SocketCutter } from "./support/socket-cutter.js";
import { SubscriptionRefusedError } from "../src/index.js";
import { ordersDatabase, selectRows, untilView, viewRows, writeOrders } from "./support/views.js";

const cluster = postgresForThisFile();
const ORDERS = "public.orders";
const OPEN_ORDERS = [{ column: "status", op: "in", value: ["open", "held"] }];
const OPEN_SQL = "status IN ('open', 'held')";

/** A gap, as a client away for longer than retention keeps events finds it: rows 2 and 3 change and row 4 is added (in
 *  a view of open orders: +4 ~2 -3), then retention removes every event of the log. */
const changeRowsWhoseEventsRetentionThenRemoves = (database) => database.sql(
  "UPDATE orders SET total = 21 WHERE id = 2",
  "UPDATE orders SET status = 'closed' WHERE id = 3",
  "INSERT INTO orders (id, status, total) VALUES (4, 'open', 40)",
  "WITH gone AS (DELETE FROM zgres.events RETURNING id) UPDATE zgres.log_state SET pruned_through = (SELECT max(id) FROM gone)");

/** "+added ~updated -removed" keys of a change. */
const summary = ({ added, updated, removed }) =>
  [...[...added.keys()].map((key) => `+${key}`), ...[...updated.keys()].map((key) => `~${key}`), ...[...removed.keys()].map((key) => `-${key}`)].join(" ");

test("a view of a filter holds what a SELECT returns as rows are inserted, move in and out, change key, are deleted and truncated", TEST_LIMIT, async (t) => {
  const database = await ordersDatabase(cluster(), "INSERT INTO orders (id, status, total) VALUES (1, 'open', 10), (2, 'closed', 20), (3, 'held', 30)");
  const server = await startServer(t, database, { tables: [ORDERS] });
  const client = newClient(t, server.url);
  await client.start();

  const view = client.liveQuery("orders", { filter: OPEN_ORDERS });
  await view.ready;
  assert.equal(view.isReady, true);
  assert.deepEqual(view.key, ["id"]);
  assert.deepEqual(viewRows(view), await selectRows(database, OPEN_SQL));
  const changes = [];
  view.onChange((change) => changes.push(change));
  const snapshots = [view.getSnapshot()];
  view.subscribe(() => snapshots.push(view.getSnapshot()));

  await database.sql(
    "INSERT INTO orders (id, status, total) VALUES (4, 'open', 40), (5, 'void', 50)",
    "UPDATE orders SET status = 'open' WHERE id = 2",
    "UPDATE orders SET status = 'closed' WHERE id = 1",
    "UPDATE orders SET total = 31 WHERE id = 3",
    "UPDATE orders SET id = 33 WHERE id = 3",
    "DELETE FROM orders WHERE id = 4",
    "INSERT INTO orders (id, status, total) VALUES (6, 'open', -1)");
  await untilView(view, (rows) => rows.has("6"), "row 6");

  assert.deepEqual(viewRows(view), await selectRows(database, OPEN_SQL));
  assert.deepEqual(changes.map(summary), ["+4", "+2", "-1", "~3", "+33 -3", "-4", "+6"]);
  assert.equal(view.rows.get("6").total, -1);
  // One new immutable array per change, in key order; the same array while nothing changes.
  assert.equal(snapshots.length, 8);
  assert.deepEqual(snapshots.at(-1).map((row) => row.id), [2, 6, 33]);
  assert.ok(Object.isFrozen(snapshots.at(-1)));
  assert.equal(view.getSnapshot(), view.getSnapshot());

  await database.sql("TRUNCATE orders", "INSERT INTO orders (id, status, total) VALUES (7, 'held', 70)");
  await untilView(view, (rows) => rows.has("7"), "row 7");
  assert.deepEqual([...view.rows.keys()], ["7"]);
  assert.equal(summary(changes.at(-2)), "-2 -33 -6");
  await view.close();
});

test("two views of one query and a subscription of it on one client each hold their own rows while writers run", TEST_LIMIT, async (t) => {
  const database = await ordersDatabase(cluster(), "INSERT INTO orders (input_id, status, total) SELECT g % 5, (ARRAY['open','held','closed'])[1 + g % 3], g FROM generate_series(1, 3000) g");
  const server = await startServer(t, database, { tables: [ORDERS] });
  const client = newClient(t, server.url);
  await client.start();
  const subscribed = new Received();
  await client.subscribe(ORDERS, { filter: OPEN_ORDERS }, subscribed.handler);
  const writing = { stopped: false };
  const writers = [1, 2].map((writer) => writeOrders(database, writer, writing));

  // Each view joins a group the connection is already in, while events flow.
  const first = client.liveQuery(ORDERS, { filter: OPEN_ORDERS });
  await first.ready;
  const second = client.liveQuery(ORDERS, { filter: OPEN_ORDERS });
  await second.ready;
  writing.stopped = true;
  await Promise.all(writers);
  const marker = await database.sql("INSERT INTO orders (status, total) VALUES ('open', -1) RETURNING id");
  await untilView(first, (rows) => rows.has(marker), "the marker in the first view");
  await untilView(second, (rows) => rows.has(marker), "the marker in the second view");

  const expected = await selectRows(database, OPEN_SQL);
  assert.deepEqual(viewRows(first), expected);
  assert.deepEqual(viewRows(second), expected);
  await subscribed.until((events) => events.some((event) => String(event.data.id) === marker), "the marker");
  assert.equal(new Set(subscribed.events.map((event) => event.id)).size, subscribed.events.length);
});

test("after a gap in the server's log the view takes a new snapshot by itself and tells its listeners it resynced", TEST_LIMIT, async (t) => {
  const database = await ordersDatabase(cluster(), "INSERT INTO orders (id, status, total) VALUES (1, 'open', 10), (2, 'open', 20), (3, 'held', 30)");
  const server = await startServer(t, database, { tables: [ORDERS] });
  const client = newClient(t, server.url);
  await client.start();
  const gaps = [];
  client.onGap((gap) => gaps.push(gap));
  const view = client.liveQuery(ORDERS, { filter: OPEN_ORDERS });
  await view.ready;
  const resynced = new Promise((resolve) => view.onChange((change) => { if (change.kind === "resynced") resolve(change); }));

  await server.stop();
  await changeRowsWhoseEventsRetentionThenRemoves(database);
  await startServer(t, database, { tables: [ORDERS], port: server.port });

  assert.equal(summary(await resynced), "+4 ~2 -3");
  assert.equal(view.isReady, true);
  assert.equal(gaps.length, 1);
  assert.deepEqual(viewRows(view), await selectRows(database, OPEN_SQL));
  // It follows the stream again afterwards.
  await database.sql("INSERT INTO orders (id, status, total) VALUES (5, 'open', 50)");
  await untilView(view, (rows) => rows.has("5"), "row 5");
});

test("a view whose resume across a gap is cut after the server said so takes a new snapshot once back", TEST_LIMIT, async (t) => {
  const database = await ordersDatabase(cluster(), "INSERT INTO orders (id, status, total) VALUES (1, 'open', 10), (2, 'open', 20), (3, 'held', 30)");
  await database.sql("ALTER TABLE orders ADD COLUMN padding text");
  const server = await startServer(t, database, { tables: [ORDERS] });
  // What the server sends reaches the client at 512 KB/s, so the replay below takes seconds and can be cut midway.
  const cutter = await SocketCutter.start(server.port, { toClientBytesPerSecond: 512 * 1024 });
  onTestEnd(t, () => cutter.close());
  const client = newClient(t, cutter.url, { initialReconnectDelay: 100, maxReconnectDelay: 1000 });
  await client.start();
  const gaps = [];
  client.onGap((gap) => gaps.push(gap));
  const view = client.liveQuery(ORDERS);
  await view.ready;
  let resyncs = 0;
  const resynced = new Promise((resolve) => view.onChange((change) => { if (change.kind === "resynced") { resyncs++; resolve(change); } }));

  // While the client is away, the gap; then a long history of rows inserted and deleted again (about 4 MB of events)
  // leaves the table as small as before.
  cutter.cutOff();
  await changeRowsWhoseEventsRetentionThenRemoves(database);
  await database.sql(
    "INSERT INTO orders (id, status, total, padding) SELECT g, 'open', g, repeat('x', 1000) FROM generate_series(100, 2099) g",
    "DELETE FROM orders WHERE id >= 100");
  // Back, the view resumes: the server's replay begins by saying it found a gap. A quarter of a megabyte into it, seconds
  // before its answer, the connection drops again.
  const before = cutter.bytesToClients;
  cutter.reopen();
  await eventually(() => cutter.bytesToClients - before >= 256 * 1024, "a quarter of a megabyte of the replay");
  assert.ok(cutter.cutAll() > 0, "the connection was gone before the cut");
  assert.equal(resyncs, 0, "the replay was answered before the cut: the case is not exercised");

  // The next join resumes after what the cut one brought, past the gap, and would not report it: the view takes a new
  // snapshot instead, and has what the gap held.
  const change = await resynced;
  assert.ok(change.added.has("4") && change.updated.has("2"), summary(change));
  assert.equal(view.isReady, true);
  assert.deepEqual(viewRows(view), await selectRows(database, "true"));
  assert.equal(gaps.length, 1);
  // Right after: the view follows the stream again.
  await database.sql("INSERT INTO orders (id, status, total) VALUES (5, 'open', 50)");
  await untilView(view, (rows) => rows.has("5"), "row 5");
});

test("a snapshot cut by a lost connection is taken again once the client is back", TEST_LIMIT, async (t) => {
  const database = await ordersDatabase(cluster(), "INSERT INTO orders (input_id, status, total) SELECT g % 10, 'open', g FROM generate_series(1, 20000) g");
  const server = await startServer(t, database, { tables: [ORDERS] });
  const cutter = await SocketCutter.start(server.port);
  onTestEnd(t, () => cutter.close());
  const client = newClient(t, cutter.url);
  await client.start();

  const view = client.liveQuery(ORDERS);
  // Cut while the server streams the snapshot (more than the socket buffers hold): while its transaction is open. (The
  // reader's statement would not do: between pages its connection shows its last FETCH, not the cursor's query.)
  await eventually(async () => await database.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zgres-snapshot' AND datname = current_database() AND xact_start IS NOT NULL") !== "0",
    "the snapshot to start");
  assert.ok(cutter.cutAll() > 0);
  await database.sql("UPDATE orders SET total = -1 WHERE id = 1", "DELETE FROM orders WHERE id = 2");

  await view.ready;
  assert.equal(view.rows.size, 19999);
  assert.equal(view.rows.get("1").total, -1);
  await database.sql("UPDATE orders SET status = 'held' WHERE id = 3");
  await untilView(view, (rows) => rows.get("3").status === "held", "the update of row 3");
});

test("a view the server refuses rejects `ready` with the server's reason and the client stays usable", TEST_LIMIT, async (t) => {
  const database = await cluster().createDatabase();
  await database.sql("CREATE TABLE keyless (id bigint, status text)");
  const server = await startServer(t, database, { tables: ["public.keyless"] });
  const client = newClient(t, server.url);
  await client.start();

  const view = client.liveQuery("keyless");
  await assert.rejects(view.ready, (error) => {
    assert.ok(error instanceof SubscriptionRefusedError);
    assert.match(error.message, /needs a primary key/);
    return true;
  });
  const received = new Received();
  await client.subscribe("keyless", received.handler);
  await database.sql("INSERT INTO keyless VALUES (1, 'open')");
  await received.until((events) => events.length === 1, "the insert");
});
