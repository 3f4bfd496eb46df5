// Exactly once and in order: whatever breaks between the client and PostgreSQL, each handler sees every row's event
// once, in commit order. Each test writes rows seq = 1..N in order and compares what arrived with 1..N.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SocketCutter } from "./support/socket-cutter.js";
import { Received, range } from "./support/received.js";
import { ITEMS, TEST_LIMIT, insertItems, itemsServer, newClient, onTestEnd, postgresForThisFile, startServer, untilConnected } from "./support/harness.js";

const cluster = postgresForThisFile();

test("each event arrives once and in order across a server restart", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const tableClient = newClient(t, server.url);
  const inputClient = newClient(t, server.url);
  const states = [];
  tableClient.onStateChanged((current) => states.push(current));
  await Promise.all([tableClient.start(), inputClient.start()]);
  const table = new Received();
  const inputOne = new Received();
  const inputTwo = new Received();
  await tableClient.subscribe("items", {}, table.handler);
  await inputClient.subscribe(ITEMS, { inputId: 1 }, inputOne.handler);
  await inputClient.subscribe(ITEMS, { inputId: "2" }, inputTwo.handler);

  await insertItems(database, 1, 20, 5);
  await table.untilSeq(20);
  await server.stop();
  await insertItems(database, 21, 40, 4);
  await startServer(t, database, { port: server.port });
  await insertItems(database, 41, 60);
  await Promise.all([table.untilSeq(60), inputOne.untilSeq(58), inputTwo.untilSeq(59)]);
  await untilConnected(tableClient);

  assert.deepEqual(table.seqs, range(1, 60));
  assert.deepEqual(inputOne.seqs, range(1, 60).filter((seq) => seq % 3 === 1));
  assert.deepEqual(inputTwo.seqs, range(1, 60).filter((seq) => seq % 3 === 2));
  // A server shutting down may still accept a reconnect and close it later: reconnecting once or more is right.
  assert.match(states.join(" "), /^connecting connected( reconnecting connected)+$/);
});

test("each event arrives once and in order when the server is killed while rows are being written", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  await client.start();
  const table = new Received();
  await client.subscribe(ITEMS, {}, table.handler);

  const writing = insertItems(database, 1, 300);
  await table.untilSeq(10);
  await server.kill();
  await startServer(t, database, { port: server.port });
  await writing;
  await table.untilSeq(300);

  assert.deepEqual(table.seqs, range(1, 300));
});

test("each event arrives once and in order when every hub connection is cut, again and again", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const cutter = await SocketCutter.start(server.port);
  onTestEnd(t, () => cutter.close());
  // Two clients: one client following a table and one of its inputs may, right after a re-subscribe, see a few of
  // that input's events ahead of older ones in the table's handler (see the README), which this test would flag.
  const tableClient = newClient(t, cutter.url);
  const inputClient = newClient(t, cutter.url);
  await Promise.all([tableClient.start(), inputClient.start()]);
  const table = new Received();
  const inputZero = new Received();
  await tableClient.subscribe(ITEMS, {}, table.handler);
  await inputClient.subscribe(ITEMS, { inputId: 0 }, inputZero.handler);

  await insertItems(database, 1, 20);
  await table.untilSeq(20);
  assert.ok(cutter.cutAll() > 0);
  await insertItems(database, 21, 40); // while the client reconnects
  await table.untilSeq(40);
  // Cut in the middle of a stream of single-row transactions, twice.
  const writing = insertItems(database, 41, 400);
  await table.untilSeq(60);
  cutter.cutAll();
  await table.untilSeq(200);
  cutter.cutAll();
  await writing;
  await Promise.all([table.untilSeq(400), inputZero.untilSeq(399)]);

  assert.deepEqual(table.seqs, range(1, 400));
  assert.deepEqual(inputZero.seqs, range(1, 400).filter((seq) => seq % 3 === 0));
});

for (const fromBeforeWhatRetentionKept of [false, true]) {
  const where = fromBeforeWhatRetentionKept ? ", from before what retention kept," : "";
  test(`each event arrives once and in order when the server cuts a client again and again while it resumes a long log${where} under a busy writer`, TEST_LIMIT, async (t) => {
    // A join holds at most ten times the backlog of live events (1,000 here) while its replay runs. The whole history
    // below (about 4 MB) takes the client several seconds through a network of 1 MB/s, so the writer outruns that,
    // however fast the machine, and the server cuts the client. Each resume goes on after what the one before
    // delivered (after a gap the client reported itself), so the client catches up while the writer still writes; one
    // that began again from where it was asked would be cut every time.
    const { database, server } = await itemsServer(t, cluster(), { settings: { Zgres__MaxClientBacklog: "100" } });
    const cutter = await SocketCutter.start(server.port, { toClientBytesPerSecond: 1024 * 1024 });
    onTestEnd(t, () => cutter.close());
    const client = newClient(t, cutter.url);
    await client.start();
    const gaps = [];
    client.onGap((gap) => gaps.push(gap));
    const table = new Received();
    await client.subscribe(ITEMS, {}, table.handler);

    // While the client is cut off, a history of 80 pages in one transaction (after a row whose event retention removed,
    // in the second case); then the writer, and the way back open.
    cutter.cutOff();
    if (fromBeforeWhatRetentionKept) {
      await insertItems(database, 0, 0);
      await database.sql("WITH gone AS (DELETE FROM zgres.events RETURNING id) UPDATE zgres.log_state SET pruned_through = greatest(pruned_through, (SELECT max(id) FROM gone))");
    }
    await insertItems(database, 1, 20_000, 20_000);
    let written = 20_000;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await insertItems(database, written + 1, written + 100);
        written += 100;
      }
    })();
    cutter.reopen();

    await table.untilSeq(20_000);
    writing = false;
    await writer;
    await table.untilSeq(written);
    // Right after: the subscription is live, and a new one on the same client joins.
    const inputZero = new Received();
    await client.subscribe(ITEMS, { inputId: 0 }, inputZero.handler);
    await insertItems(database, written + 1, written + 3);
    await Promise.all([table.untilSeq(written + 3), inputZero.untilSeq(written + 3 - ((written + 3) % 3))]);

    assert.deepEqual(table.seqs, range(1, written + 3));
    assert.deepEqual(inputZero.seqs, range(written + 1, written + 3).filter((seq) => seq % 3 === 0));
    const cuts = server.output.split("Disconnected client").length - 1;
    assert.ok(cuts >= 1, "the server never cut the client: the case is not exercised");
    // The gap is reported once, by the first resume that found it, also when it was cut; the resumes after it go on
    // after the gap and find none (one cut before it delivered anything finds it again: that is not news).
    assert.deepEqual(gaps.map((gap) => gap.table), fromBeforeWhatRetentionKept ? [ITEMS] : []);
  });
}

test("each event arrives once and in order when every database connection of the server is killed", TEST_LIMIT, async (t) => {
  const { database, server } = await itemsServer(t, cluster());
  const client = newClient(t, server.url);
  await client.start();
  const table = new Received();
  await client.subscribe(ITEMS, {}, table.handler);
  const killServerBackends = () => database.sqlAs("killer",
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name NOT IN ('writer', 'killer')");

  await insertItems(database, 1, 20);
  await table.untilSeq(20);
  assert.ok(Number(await killServerBackends()) > 0);
  const writing = database.sqlAs("writer", ...range(21, 200).map((seq) => `INSERT INTO items (input_id, seq) VALUES (${seq % 3}, ${seq})`));
  await table.untilSeq(60);
  await killServerBackends();
  await writing;
  await table.untilSeq(200);

  assert.deepEqual(table.seqs, range(1, 200));
});
