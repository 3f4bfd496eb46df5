// The Node consumer of Zgres.Bench's live-view scenario: node --expose-gc live-view.mjs SERVER TABLE MODE ROWS.
// It holds every row of TABLE, through the package's live view (MODE "view") or a plain snapshot subscription whose
// handler keeps a Map by id (MODE "subscription"), and speaks the protocol of Zgres.Bench/LiveViews/ConsumerProtocol.cs:
// JSON lines out ("started", "ready", "progress", "caught-up", "contents"), commands in ("open", "expect E", "quit").
import { createInterface } from "node:readline";
import { LogLevel } from "@microsoft/signalr";
import { ZgresClient } from "../src/index.js";

const [server, table, mode, rowsText] = process.argv.slice(2);
const rows = Number(rowsText);
if (!server || !table || !["view", "subscription"].includes(mode) || !Number.isInteger(rows) || rows < 0) {
  console.error("usage: node --expose-gc live-view.mjs SERVER TABLE view|subscription ROWS");
  process.exit(2);
}

const report = (message) => process.stdout.write(JSON.stringify(message) + "\n");

/** The heap after a full collection (needs --expose-gc; without it, as it is). */
function heapBytes() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

let applied = 0;
let expected = Infinity;
let caughtUp = false;
let reconnects = 0;
let resyncs = 0;
let contents = () => ({ rows: 0, seqSum: 0 });

function countApplied(events) {
  applied += events;
  if (applied >= expected) reportCaughtUp();
}

/** Once: the caught-up report first (the bench times it), then the rows' count and checksum. */
function reportCaughtUp() {
  if (caughtUp) return;
  caughtUp = true;
  report({ event: "caught-up", applied, reconnects, resyncs });
  report({ event: "contents", ...contents() });
}

const seqSum = (values) => {
  let sum = 0;
  for (const row of values) sum += row.seq;
  return sum;
};

async function openView(client) {
  const view = client.liveQuery(table);
  view.onChange((change) => {
    if (change.kind === "resynced") resyncs++;
    else countApplied(change.events.length);
  });
  await view.ready;
  contents = () => ({ rows: view.rows.size, seqSum: seqSum(view.rows.values()) });
  return { count: () => view.rows.size, close: () => view.close() };
}

/** What a user without live views writes: a snapshot subscription whose handler keeps a Map by id. The package hands
 *  every snapshot row to the handler before subscribe() resolves. */
async function openSubscription(client) {
  const byId = new Map();
  const subscription = await client.subscribe(table, { snapshot: true }, (event) => {
    switch (event.operation) {
      case "DELETE":
        byId.delete(event.data.id);
        break;
      case "TRUNCATE":
        byId.clear();
        break;
      default:
        if (event.old && event.old.id !== event.data.id) byId.delete(event.old.id);
        byId.set(event.data.id, event.data);
    }
    if (event.operation !== "SNAPSHOT") countApplied(1);
  });
  contents = () => ({ rows: byId.size, seqSum: seqSum(byId.values()) });
  return { count: () => byId.size, close: () => subscription.unsubscribe() };
}

const client = new ZgresClient(server, { logger: LogLevel.Warning });
client.onStateChanged((current) => {
  if (current === "reconnecting") reconnects++;
});
await client.start();
report({ event: "started", heapBytes: heapBytes() });

let held = null;
let progress = null;
const input = createInterface({ input: process.stdin });
for await (const command of input) {
  if (command === "open" && held === null) {
    const opening = process.hrtime.bigint();
    held = await (mode === "view" ? openView(client) : openSubscription(client));
    const readyMs = Number(process.hrtime.bigint() - opening) / 1e6;
    report({ event: "ready", readyMs, rows: held.count(), heapBytes: heapBytes() });
    progress = setInterval(() => report({ event: "progress", applied }), 250);
  } else if (command.startsWith("expect ")) {
    expected = Number(command.slice("expect ".length));
    if (applied >= expected) reportCaughtUp();
  } else if (command === "quit") {
    break;
  }
}
clearInterval(progress);
await held?.close();
await client.stop();
process.exit(0);
