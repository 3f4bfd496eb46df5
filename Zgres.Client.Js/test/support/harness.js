// What the end-to-end tests share: the table they write (`items`, input_id = seq % 3), a writer, and clients and
// servers that are stopped when the test ends.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { LogLevel } from "@microsoft/signalr";
import { ZgresClient } from "../../src/index.js";
import { PostgresCluster } from "./postgres.js";
import { ServerProcess } from "./server.js";

export const ITEMS = "public.items";

/** Each test's limit: generous, for a loaded two-core machine; a test that hangs fails here. */
export const TEST_LIMIT = { timeout: 240_000 };

/** Resolves once `condition()` (which may return a promise) holds, checked every 10 ms: for what the server or the
 *  network does on its own time. Fails after `timeoutMs`, naming `what`. */
export async function eventually(condition, what, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(performance.now() < deadline, `timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** One PostgreSQL for the test file, started before its first test and stopped after its last; call the returned
 *  function inside a test to get it. */
export function postgresForThisFile() {
  let cluster;
  before(async () => { cluster = await PostgresCluster.start(); });
  after(() => cluster?.stop());
  return () => cluster;
}

const cleanups = new WeakMap();

/** Runs `cleanup` when the test ends: clients first, then everything else in reverse order of registration, so a
 *  server never waits for clients to let go (it accepts their reconnects while it shuts down, then waits for them). */
export function onTestEnd(t, cleanup, { isClient = false } = {}) {
  if (!cleanups.has(t)) {
    const pending = { clients: [], others: [] };
    cleanups.set(t, pending);
    t.after(async () => {
      await Promise.all(pending.clients.map((stop) => stop()));
      while (pending.others.length > 0) await pending.others.pop()();
    });
  }
  const pending = cleanups.get(t);
  (isClient ? pending.clients : pending.others).push(cleanup);
}

/** A new database holding an empty `items` table. */
export async function itemsDatabase(cluster) {
  const database = await cluster.createDatabase();
  await database.sql("CREATE TABLE items (id bigserial PRIMARY KEY, input_id int NOT NULL, seq int NOT NULL)");
  return database;
}

/** A new database holding an empty `items` table, and a server watching it. */
export async function itemsServer(t, cluster, options) {
  const database = await itemsDatabase(cluster);
  const server = await startServer(t, database, options);
  return { database, server };
}

/** What a failed test prints of its server's output: its last lines, where the failure is. */
const SERVER_LINES_SHOWN = 300;

/** Starts a server watching `tables` (`items` unless given; on `options.port` when given) that is stopped when the
 *  test ends. A test that failed prints what the server logged: the failures worth seeing are those that do not come
 *  back when the test runs again. */
export async function startServer(t, database, { tables = [ITEMS], ...options } = {}) {
  const server = await ServerProcess.start(database, tables, options);
  onTestEnd(t, async () => {
    await server.stop();
    if (t.passed) return;
    const lines = server.output.trimEnd().split("\n");
    const shown = lines.slice(-SERVER_LINES_SHOWN);
    const cut = lines.length > shown.length ? ` (its last ${shown.length} of ${lines.length} lines)` : "";
    console.log(`The server on port ${server.port} logged${cut}:\n${shown.join("\n")}`);
  });
  return server;
}

/** Inserts the rows seq = from..to, `perTransaction` rows in each transaction, in order. */
export function insertItems(database, from, to, perTransaction = 1) {
  const statements = [];
  for (let first = from; first <= to; first += perTransaction) {
    const last = Math.min(first + perTransaction - 1, to);
    statements.push(`INSERT INTO items (input_id, seq) SELECT s % 3, s FROM generate_series(${first}, ${last}) s ORDER BY s`);
  }
  return database.sql(...statements);
}

/** A client of `url` that is stopped when the test ends. SignalR's own messages stay quiet: the tests cut
 *  connections on purpose. */
export function newClient(t, url, options = {}) {
  const client = new ZgresClient(url, { logger: LogLevel.None, ...options });
  onTestEnd(t, () => client.stop(), { isClient: true });
  return client;
}

/** Resolves once `client` is connected: after a reconnect, its state says so once every group has been joined again,
 *  which can be after the replays' events have arrived. */
export function untilConnected(client) {
  if (client.state === "connected") return Promise.resolve();
  return new Promise((resolve) => {
    const remove = client.onStateChanged((current) => {
      if (current !== "connected") return;
      remove();
      resolve();
    });
  });
}
