// "My write has arrived" against the real server: a writer takes its transaction id and waits until its changes are
// in its client's handlers and live views.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import { TEST_LIMIT, newClient, postgresForThisFile, startServer, untilConnected } from "./support/harness.js";
import { TransactionWaitError } from "../src/index.js";
import { ordersDatabase } from "./support/views.js";

const cluster = postgresForThisFile();
const ORDERS = "public.orders";

/** Inserts an open order in a transaction of its own and returns that transaction's id. */
const insertOrder = (database, id) => database.sql(`INSERT INTO orders (id, status, total) VALUES (${id}, 'open', ${id}) RETURNING pg_current_xact_id()`);

/** A database of orders, a server watching it, a started client and a live view of the whole table. */
async function viewSession(t) {
  const database = await ordersDatabase(cluster());
  const server = await startServer(t, database, { tables: [ORDERS] });
  const client = newClient(t, server.url);
  await client.start();
  const view = client.liveQuery("orders");
  await view.ready;
  return { database, server, client, view };
}

const keys = (view) => [...view.rows.keys()].sort();

test("after a write and a wait for its transaction the row is in the live view and an async handler has had it", TEST_LIMIT, async (t) => {
  const { database, client, view } = await viewSession(t);
  const handled = new Set();
  await client.subscribe("orders", async (event) => {
    await nextTurn();
    handled.add(event.data.id);
  });

  for (let id = 1; id <= 20; id++) {
    const txid = await insertOrder(database, id);
    await client.waitForTransaction(txid, { timeout: 30_000 });
    assert.ok(view.rows.has(String(id)), `row ${id} is not in the view when the wait for its transaction ${txid} resolved`);
    assert.ok(handled.has(id), `the handler had not finished with row ${id} when the wait for ${txid} resolved`);
  }
});

test("a transaction that touched no subscribed table resolves the wait at once", TEST_LIMIT, async (t) => {
  const { database, client, view } = await viewSession(t);
  await database.sql("CREATE TABLE other (id int)");
  const txid = await database.sql("INSERT INTO other VALUES (1) RETURNING pg_current_xact_id()");

  await client.waitForTransaction(txid);
  assert.equal(view.rows.size, 0);
});

test("a rolled-back transaction rejects the wait with a TransactionWaitError saying so, and the next wait works", TEST_LIMIT, async (t) => {
  const { database, client, view } = await viewSession(t);
  const rolledBack = await database.sql("BEGIN", "INSERT INTO orders (id, status, total) VALUES (1, 'open', 1) RETURNING pg_current_xact_id()", "ROLLBACK");

  await assert.rejects(client.waitForTransaction(rolledBack), (error) => {
    assert.ok(error instanceof TransactionWaitError);
    assert.equal(error.txid, rolledBack);
    assert.equal(error.message, `Transaction ${rolledBack} was rolled back: it changed nothing, so there is nothing to wait for.`);
    return true;
  });

  await client.waitForTransaction(await insertOrder(database, 2));
  assert.deepEqual(keys(view), ["2"]);
});

test("a malformed txid is refused with a message that says so, and the client goes on", TEST_LIMIT, async (t) => {
  const { database, client, view } = await viewSession(t);
  for (const txid of ["abc", "-1", "0", "18446744073709551616"]) {
    await assert.rejects(client.waitForTransaction(txid), (error) => {
      assert.ok(error instanceof TransactionWaitError, String(error));
      assert.match(error.message, new RegExp(`^'${txid}' is not a transaction id`));
      return true;
    });
  }
  await assert.rejects(client.waitForTransaction({ txid: "1" }), TypeError);
  await assert.rejects(client.waitForTransaction("1", { timeout: Infinity }), TypeError);

  await client.waitForTransaction(await insertOrder(database, 1));
  assert.deepEqual(keys(view), ["1"]);
});

test("a transaction still open is waited for: a short timeout rejects with a TimeoutError, a longer wait resolves with its rows once it commits", TEST_LIMIT, async (t) => {
  const { database, client, view } = await viewSession(t);
  const writer = database.session();
  writer.send("BEGIN");
  writer.send("INSERT INTO orders (id, status, total) VALUES (1, 'open', 1)");
  writer.send("SELECT set_config('application_name', 'open-writer-' || pg_current_xact_id()::text, false)");
  let txid = "";
  for (let tries = 0; txid === "" && tries < 600; tries++) {
    txid = await database.sql("SELECT substr(application_name, 13) FROM pg_stat_activity WHERE application_name LIKE 'open-writer-%'");
  }
  assert.notEqual(txid, "", "the writer's transaction never began");

  await assert.rejects(client.waitForTransaction(txid, { timeout: 500 }), (error) => {
    assert.equal(error.name, "TimeoutError");
    assert.match(error.message, new RegExp(`Transaction ${txid} `));
    return true;
  });

  let resolved = false;
  const wait = client.waitForTransaction(txid, { timeout: 60_000 }).then(() => { resolved = true; });
  writer.send("INSERT INTO orders (id, status, total) VALUES (2, 'open', 2)");
  await database.sql("SELECT 1");
  assert.equal(resolved, false, "the wait resolved before the transaction committed");
  writer.send("COMMIT");
  assert.equal(await writer.end(), 0);

  await wait;
  assert.deepEqual(keys(view), ["1", "2"]);
});

test("a wait across a server restart resolves once the client is back, with the row in its view", TEST_LIMIT, async (t) => {
  const { database, server, client, view } = await viewSession(t);
  const reconnecting = new Promise((resolve) => client.onStateChanged((current) => { if (current === "reconnecting") resolve(); }));
  await server.stop();
  await reconnecting;
  const txid = await insertOrder(database, 1);
  const wait = client.waitForTransaction(txid, { timeout: 120_000 });
  await startServer(t, database, { tables: [ORDERS], port: server.port });

  await wait;
  assert.deepEqual(keys(view), ["1"]);
  // And right after: the next write and wait go through the new connection.
  await untilConnected(client);
  await client.waitForTransaction(await insertOrder(database, 2));
  assert.deepEqual(keys(view), ["1", "2"]);
});
