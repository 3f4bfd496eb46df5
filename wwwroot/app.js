// The Zgres demo page: one subscription at a time through @zgres/client, and a list of the changes it delivers,
// newest first; with "Load current rows", a live view of the query instead, whose rows are shown above the changes.
// No framework: the DOM is built with textContent only (row values are data, never markup), and updates are batched
// into one animation frame so a fast stream never freezes the page.

import { ZgresClient } from "@zgres/client";

const MAX_ROWS = 500;          // rows kept in the list (and held while paused)
const STATS_WINDOW_MS = 2_000; // events/s and latency are measured over this window
const TABLES_RETRY_MS = 2_000;
const TOKEN_KEY = "zgres.accessToken";

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $("connection"), connectionText: $("connection-text"),
  table: $("table"), follow: $("follow"), filter: $("filter"), snapshot: $("snapshot"), token: $("token"),
  pause: $("pause"), clear: $("clear"),
  rate: $("rate"), latency: $("latency"), shown: $("shown"),
  notices: $("notices"), feed: $("feed"), feedScope: $("feed-scope"), empty: $("empty"), rowTemplate: $("row-template"),
  rowsPanel: $("rows-panel"), rowsCount: $("rows-count"), rowsColumns: $("rows-columns"), rowsBody: $("rows-body"), rowsMore: $("rows-more"),
  writer: $("writer"), writerTable: $("writer-table"), writerResult: $("writer-result"),
  insertForm: $("insert-form"), updateForm: $("update-form"), burst: $("burst"), delete: $("delete"), rowId: $("row-id"),
  psqlBox: $("psql-box"), psql: $("psql"), copyPsql: $("copy-psql"),
};

// ---------------------------------------------------------------------------------------------------------------
// Access token: kept for this tab only (sessionStorage), sent on the hub connection and on every API call. A server
// that allows anonymous callers (the default on loopback) needs none.

const accessToken = () => sessionStorage.getItem(TOKEN_KEY) ?? "";
const authorization = () => (accessToken() ? { Authorization: `Bearer ${accessToken()}` } : {});

// ---------------------------------------------------------------------------------------------------------------
// Connection: @zgres/client reconnects forever, joins the subscription again and resumes after the last change it
// delivered, dropping repeats; the page only shows its state.

const client = new ZgresClient(location.origin, { accessTokenFactory: accessToken });

const STATES = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };
const PAGE_STATE = { connecting: "connecting", connected: "live", reconnecting: "reconnecting", disconnected: "offline" };

function setState(state, detail = "") {
  ui.connection.dataset.state = state;
  ui.connectionText.textContent = detail ? `${STATES[state]} · ${detail}` : STATES[state];
}

client.onStateChanged((current) => {
  setState(PAGE_STATE[current]);
  // Connected means every subscription has been joined again.
  if (current === "connected") showSubscribed();
  else delete ui.feed.dataset.subscribed;
});
client.onGap(() => showNotice("warning", "gap",
  view
    ? "The server's log no longer holds every change since this page last saw one: some are missing from the list of changes, and the current rows are being loaded again."
    : "The server's log no longer holds every change since this page last saw one: some changes are missing from the list.",
  { label: "Clear the list", action: clearFeed }));

async function connect() {
  for (;;) {
    try {
      await loadTables();
      break;
    } catch (error) {
      setState("offline", `retrying in ${TABLES_RETRY_MS / 1000} s`);
      console.warn("Zgres: the tables could not be loaded yet:", error?.message ?? error);
      await new Promise((resolve) => setTimeout(resolve, TABLES_RETRY_MS));
    }
  }
  serially(startAndSubscribe);
}

async function startAndSubscribe() {
  try {
    await client.start(); // retries by itself until the hub answers
  } catch {
    return; // start() rejects only when stop() came first: a new token started over.
  }
  await subscribeTarget();
}

ui.token.value = accessToken();
ui.token.addEventListener("change", async () => {
  const token = ui.token.value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  // A token is used from the next connect on, so connect again now. Before the first connect there is nothing to
  // restart: loading the tables retries with the new token by itself.
  if (client.state === "disconnected") return;
  await client.stop(); // also ends a start() still trying with the old token
  subscription = null;
  view = null;
  serially(startAndSubscribe);
});

// ---------------------------------------------------------------------------------------------------------------
// Subscription: what the user asked for (target: a table, an input or all, a filter or none), and the package's
// subscription to it, or, with "Load current rows", its live view of it (which keeps the rows equal to the query by
// itself: snapshot, changes by primary key, a new snapshot after a gap).

let tables = [];
let target = { table: null, inputId: null, filter: null };
let subscription = null;
let view = null;

// Subscribe and unsubscribe run one after another, so switching quickly never leaves two subscriptions behind.
let chain = Promise.resolve();
function serially(task) {
  chain = chain.then(task).catch((error) => showNotice("error", "subscription", `Subscribing failed: ${error?.message ?? error}`));
  return chain;
}

async function loadTables() {
  const response = await fetch("/api/tables", { headers: { Accept: "application/json", ...authorization() } });
  if (response.status === 401 || response.status === 403) {
    showNotice("warning", "token", "This server needs an access token: enter one in the Access token field.");
  }
  if (!response.ok) throw new Error(`GET /api/tables answered ${response.status}`);
  clearNotice("token");
  tables = await response.json();
  ui.table.replaceChildren(...tables.map((table) => new Option(table.name, table.name)));
  ui.table.disabled = tables.length === 0;
  if (tables.length === 0) {
    ui.table.append(new Option("no tables exposed"));
    showNotice("warning", "tables", "This server exposes no tables: add one to Zgres:Tables in its settings.");
    return;
  }
  target = { table: tables[0].name, inputId: null, filter: null };
  showScope();
  loadDemo(); // not awaited: the writer is optional
}

async function subscribeTarget() {
  const [previousSubscription, previousView] = [subscription, view];
  subscription = null;
  view = null;
  delete ui.feed.dataset.subscribed;
  await previousSubscription?.unsubscribe();
  await previousView?.close();
  showRows();
  if (!target.table) return;
  const options = { inputId: target.inputId, filter: target.filter };
  if (!ui.snapshot.checked) {
    // A list that goes on (the same rows as before, or some of them) goes on from where the previous subscription or
    // view stopped, so a change committed during the switch is not missed.
    const previous = previousSubscription ?? previousView;
    const after = previous !== null && continues(previous, target) ? previous.continueAfter : null;
    subscription = await client.subscribe(target.table, { ...options, after }, receive);
  } else {
    // The rows go to the rows panel; the list below keeps showing the changes, from the view's own events: those
    // committed during the switch are in the view's snapshot, so they show in the rows, not in the list.
    const opened = client.liveQuery(target.table, options);
    opened.onChange((change) => {
      for (const event of change.events) receive(event);
      if (change.kind === "resynced") showNotice("warning", "gap", "The current rows were loaded again after a gap in the server's log.");
    });
    opened.subscribe(scheduleRows);
    view = opened;
    try {
      await opened.ready;
    } catch (error) {
      if (view === opened) view = null;
      showRows();
      throw error;
    }
    if (view !== opened) return;
  }
  showSubscribed();
  showRows();
  clearNotice("subscription");
}

/** Whether the rows of `next` are those `previous` followed, or some of them. */
function continues(previous, next) {
  return previous.table === next.table
    && (previous.inputId === null || previous.inputId === next.inputId)
    && JSON.stringify(previous.filter) === JSON.stringify(next.filter);
}

// What the server has joined the page to, as attributes: tests wait for them before they write rows.
function showSubscribed() {
  const followed = subscription ?? view;
  if (!followed) return;
  ui.feed.dataset.subscribed = followed.inputId === null ? followed.table : `${followed.table}:${followed.inputId}`;
  if (followed.filter === null) delete ui.feed.dataset.filter;
  else ui.feed.dataset.filter = describeFilter(followed.filter);
}

// ---------------------------------------------------------------------------------------------------------------
// Current rows: the live view's rows in key order, the first MAX_ROWS of them, redrawn once per animation frame.

let rowsFrame = 0;
function scheduleRows() {
  rowsFrame ||= requestAnimationFrame(() => {
    rowsFrame = 0;
    showRows();
  });
}

function showRows() {
  ui.rowsPanel.hidden = view === null;
  if (view === null) {
    ui.rowsBody.replaceChildren();
    return;
  }
  const rows = view.getSnapshot();
  const columns = tables.find((table) => table.name === view.table)?.columns ?? Object.keys(rows[0] ?? {});
  ui.rowsColumns.replaceChildren(...columns.map((column) => Object.assign(document.createElement("th"), { scope: "col", textContent: column })));
  ui.rowsBody.replaceChildren(...rows.slice(0, MAX_ROWS).map((row) => {
    const line = document.createElement("tr");
    line.dataset.key = view.key.length === 1 ? String(row[view.key[0]]) : JSON.stringify(view.key.map((column) => row[column]));
    for (const column of columns) {
      const [text, kind] = formatValue(row[column]);
      const cell = Object.assign(document.createElement("td"), { textContent: text, title: text });
      if (kind !== "string") cell.className = `v-${kind}`;
      line.append(cell);
    }
    return line;
  }));
  ui.rowsCount.textContent = view.isReady ? `(${rows.length})` : "(loading…)";
  ui.rowsMore.hidden = rows.length <= MAX_ROWS;
  ui.rowsMore.textContent = `Showing the first ${MAX_ROWS} of ${rows.length} rows.`;
}

function switchTarget(next) {
  const filterChanged = JSON.stringify(next.filter) !== JSON.stringify(target.filter);
  if (next.table === target.table && next.inputId === target.inputId && !filterChanged) return;
  target = next;
  showScope();
  // The list shows only what the new target would have shown; whether a row passes a new filter is the server's to
  // say, so a new filter starts the list afresh.
  if (filterChanged) {
    clearFeed();
  } else {
    for (const row of [...ui.feed.children]) if (!matches(row.dataset.table, row.dataset.inputId || null)) row.remove();
    pending = pending.filter((change) => matches(tableOf(change), change.inputId));
    held = held.filter((change) => matches(tableOf(change), change.inputId));
    updateCounts();
  }
  serially(subscribeTarget);
}

function showScope() {
  const input = target.inputId === null ? "" : `, input ${target.inputId}`;
  const filter = target.filter === null ? "" : `, where ${describeFilter(target.filter)}`;
  ui.feedScope.textContent = `in ${target.table}${input}${filter}`;
  // Only when the change came from elsewhere (a row's input chip): never rewrite what the user is typing.
  if ((ui.follow.value.trim() || null) !== target.inputId) ui.follow.value = target.inputId ?? "";
}

const tableOf = (change) => `${change.schema}.${change.table}`;

// ---------------------------------------------------------------------------------------------------------------
// The filter box: "column op value", conditions joined with "and"; the server checks columns and values and says
// what is wrong with them, so the page only splits the text. Values go as text, which the server reads by the
// column's type (numbers, timestamps); `in` takes values separated by commas, `is` null, true or false.

const OPERATORS = ["eq", "neq", "lt", "lte", "gt", "gte", "in", "is"];
const IS_VALUES = { null: null, true: true, false: false };

function parseFilter(text) {
  if (text.trim() === "") return null;
  return text.trim().split(/\s+and\s+/i).map((condition) => {
    const [, column, op, value] = /^(\S+)\s+(\S+)\s+(.+)$/.exec(condition) ?? [];
    if (!column) throw new Error(`"${condition}" is not "column op value", for example "value eq hello".`);
    const operator = op.toLowerCase();
    if (!OPERATORS.includes(operator)) throw new Error(`"${op}" is not an operator: use ${OPERATORS.join(", ")}.`);
    if (operator === "in") return { column, op: operator, value: value.split(",").map((item) => item.trim()) };
    if (operator !== "is") return { column, op: operator, value };
    if (!(value.toLowerCase() in IS_VALUES)) throw new Error(`"is" takes null, true or false, not "${value}".`);
    return { column, op: operator, value: IS_VALUES[value.toLowerCase()] };
  });
}

const describeFilter = (filter) =>
  filter.map(({ column, op, value }) => `${column} ${op} ${Array.isArray(value) ? value.join(", ") : String(value)}`).join(" and ");
const matches = (table, inputId) => table === target.table && (target.inputId === null || inputId === target.inputId);

// ---------------------------------------------------------------------------------------------------------------
// Receiving: measure, then hold (paused) or queue for the next frame. The package hands over each change once per
// subscription; a subscription that continues an earlier one may repeat a few of its changes, dropped here by id.

let arrivals = []; // [receivedAt, latencyMs] within the stats window
let paused = false;
let held = [];
let pending = [];
let frame = 0;

const recentIds = new Set(); // insertion-ordered: the oldest id is the first
const RECENT_IDS = 10_000;

function receive(change) {
  if (recentIds.has(change.id)) return;
  recentIds.add(change.id);
  if (recentIds.size > RECENT_IDS) recentIds.delete(recentIds.values().next().value);
  arrivals.push([performance.now(), Date.now() - parseTimestamp(change.timestamp)]);
  if (paused) {
    held.push(change);
    if (held.length > MAX_ROWS) held.shift();
    updatePauseButton();
  } else {
    queue([change]);
  }
}

function queue(changes) {
  pending.push(...changes);
  if (pending.length > 2 * MAX_ROWS) pending = pending.slice(-MAX_ROWS);
  frame ||= requestAnimationFrame(render);
}

// Timestamps carry microseconds; Date.parse is only specified for milliseconds.
const parseTimestamp = (text) => Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));

// ---------------------------------------------------------------------------------------------------------------
// Rendering: one DOM update per animation frame, at most MAX_ROWS rows.

function render() {
  frame = 0;
  const batch = pending.length > MAX_ROWS ? pending.slice(-MAX_ROWS) : pending;
  pending = [];
  const fragment = document.createDocumentFragment();
  for (let i = batch.length - 1; i >= 0; i--) fragment.append(renderChange(batch[i]));
  ui.feed.prepend(fragment);
  while (ui.feed.childElementCount > MAX_ROWS) ui.feed.lastElementChild.remove();
  updateCounts();
}

function renderChange(change) {
  const row = ui.rowTemplate.content.firstElementChild.cloneNode(true);
  const operation = change.operation.toLowerCase();
  row.classList.add(`op-${operation}`);
  Object.assign(row.dataset, { eventId: change.id, operation: change.operation, table: tableOf(change), inputId: change.inputId ?? "" });

  row.querySelector(".op").textContent = change.operation;
  // A snapshot row is the row as it is, not a logged change: it has no event id (its id is 0).
  if (change.operation === "SNAPSHOT") row.querySelector(".event-id").remove();
  else row.querySelector(".event-id").textContent = `#${change.id}`;
  const chip = row.querySelector(".input-chip");
  if (change.inputId === null) {
    chip.remove();
  } else {
    chip.textContent = `input ${change.inputId}`;
    chip.title = `Follow input ${change.inputId} only`;
    chip.setAttribute("aria-label", chip.title);
    chip.dataset.follow = change.inputId;
  }
  const time = row.querySelector(".time");
  time.dateTime = change.timestamp;
  time.title = change.timestamp;
  time.textContent = formatTime(change.timestamp);

  const diff = row.querySelector(".diff");
  const values = row.querySelector(".values");
  // A row that left the view carries its key alone in data, and in old the row as this view knew it: show that.
  const leaving = change.operation === "UPDATE" && change.inFilter === false;
  const shown = leaving ? change.old : change.data;
  const changed = change.operation === "UPDATE" && change.old && !leaving ? changedColumns(change.old, change.data) : [];
  if (changed.length === 0) diff.remove();
  for (const column of changed) {
    diff.append(pair(column, [
      span("old", formatValue(change.old[column])), span("arrow", " → "), span("new", formatValue(change.data[column])),
    ]));
  }
  const note = (text) => values.before(Object.assign(document.createElement("p"), { className: "note", textContent: text }));
  if (leaving) note(target.filter ? "The row no longer matches the filter." : "The row moved to another input.");
  else if (change.operation === "UPDATE" && change.inFilter === true && !change.old) note("The row entered this view.");
  else if (change.operation === "UPDATE" && change.old && changed.length === 0) note("No published column changed.");
  const columns = Object.keys(shown ?? {}).filter((column) => !changed.includes(column));
  if (change.operation === "TRUNCATE") {
    values.replaceWith(Object.assign(document.createElement("p"), { className: "note", textContent: `Every row of ${tableOf(change)} was removed.` }));
  } else if (columns.length === 0) {
    values.remove();
  }
  for (const column of columns) values.append(pair(column, [span("", formatValue(shown[column]))]));
  return row;
}

const changedColumns = (old, data) =>
  Object.keys(data).filter((column) => JSON.stringify(old[column]) !== JSON.stringify(data[column]));

// A column and its value: <div><dt>column</dt><dd>value</dd></div>; the title shows values the layout cuts short.
function pair(column, parts) {
  const wrapper = Object.assign(document.createElement("div"), { className: "pair" });
  const dd = document.createElement("dd");
  dd.append(...parts);
  dd.title = parts.map((part) => part.textContent).join("");
  wrapper.append(Object.assign(document.createElement("dt"), { textContent: column }), dd);
  return wrapper;
}

function span(className, [text, kind]) {
  const element = Object.assign(document.createElement("span"), { textContent: text });
  element.className = [className, kind && `v-${kind}`].filter(Boolean).join(" ");
  return element;
}

// A value as text plus its JSON kind, so null, numbers and objects are styled apart from strings.
function formatValue(value) {
  if (value === null || value === undefined) return ["null", "null"];
  if (typeof value === "string") return [value, "string"];
  if (typeof value === "object") return [JSON.stringify(value), "json"];
  return [String(value), typeof value];
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
function formatTime(timestamp) {
  const date = new Date(parseTimestamp(timestamp));
  return `${timeFormat.format(date)}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

function updateCounts() {
  const shown = ui.feed.childElementCount;
  ui.shown.textContent = shown;
  ui.empty.hidden = shown > 0 || pending.length > 0;
}

function clearFeed() {
  ui.feed.replaceChildren();
  pending = [];
  held = [];
  updatePauseButton();
  updateCounts();
  clearNotice("gap");
}

// ---------------------------------------------------------------------------------------------------------------
// Throughput: events per second and latency (the trigger's clock vs this browser's) over the last two seconds.

setInterval(() => {
  const now = performance.now();
  arrivals = arrivals.filter(([at]) => now - at <= STATS_WINDOW_MS);
  ui.rate.textContent = formatRate(arrivals.length / (STATS_WINDOW_MS / 1000));
  if (arrivals.length === 0) {
    ui.latency.textContent = "–";
  } else {
    const latencies = arrivals.map(([, latency]) => latency).sort((a, b) => a - b);
    ui.latency.textContent = formatDuration(latencies[Math.floor(latencies.length / 2)]);
    ui.latency.title = "Median, over the last 2 s, of arrival time minus the change's timestamp";
  }
}, 500);

const formatRate = (rate) => rate >= 100 ? Math.round(rate).toLocaleString() : rate.toFixed(rate === 0 ? 0 : 1);
const formatDuration = (ms) => ms < 1_000 ? `${Math.max(0, Math.round(ms))} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;

// ---------------------------------------------------------------------------------------------------------------
// Controls.

ui.table.addEventListener("change", () => switchTarget({ ...target, table: ui.table.value }));

// The follow box applies as the user types (after a pause); the filter box on Enter or when it loses focus, since a
// half-typed filter is an error.
let followTimer = 0;
function applyToolbar() {
  clearTimeout(followTimer);
  let filter;
  try {
    filter = parseFilter(ui.filter.value);
  } catch (error) {
    ui.filter.setAttribute("aria-invalid", "true");
    showNotice("error", "filter", `Filter: ${error.message}`);
    return;
  }
  ui.filter.removeAttribute("aria-invalid");
  clearNotice("filter");
  switchTarget({ table: target.table, inputId: ui.follow.value.trim() || null, filter });
}
ui.follow.addEventListener("input", () => {
  clearTimeout(followTimer);
  followTimer = setTimeout(applyToolbar, 400);
});
ui.follow.addEventListener("change", applyToolbar);
ui.filter.addEventListener("change", applyToolbar);
$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  applyToolbar();
});
// Checked, a live view of the query replaces the subscription (its rows shown above the changes); unchecked, a plain
// subscription again. It applies to every later subscribe too (a new table, input or filter).
ui.snapshot.addEventListener("change", () => {
  if (target.table) serially(subscribeTarget);
});

ui.feed.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-follow]");
  if (chip) switchTarget({ ...target, inputId: chip.dataset.follow });
});

// Pause buffers: changes keep arriving (and count) but are held, the newest MAX_ROWS of them, until resumed.
function updatePauseButton() {
  ui.pause.setAttribute("aria-pressed", String(paused));
  ui.pause.textContent = !paused ? "Pause" : held.length > 0 ? `Resume (${held.length} new)` : "Resume";
}
ui.pause.addEventListener("click", () => {
  paused = !paused;
  if (!paused && held.length > 0) {
    queue(held);
    held = [];
  }
  updatePauseButton();
});
ui.clear.addEventListener("click", clearFeed);

// ---------------------------------------------------------------------------------------------------------------
// Notices: one per topic, replaced rather than stacked.

function showNotice(kind, topic, text, button) {
  clearNotice(topic);
  const notice = Object.assign(document.createElement("div"), { className: `notice notice-${kind}` });
  notice.dataset.topic = topic;
  notice.append(Object.assign(document.createElement("span"), { textContent: text }));
  if (button) {
    const action = Object.assign(document.createElement("button"), { type: "button", textContent: button.label });
    action.addEventListener("click", () => { button.action(); clearNotice(topic); });
    notice.append(action);
  }
  const dismiss = Object.assign(document.createElement("button"), { type: "button", className: "dismiss", textContent: "×" });
  dismiss.setAttribute("aria-label", "Dismiss");
  dismiss.addEventListener("click", () => clearNotice(topic));
  notice.append(dismiss);
  ui.notices.append(notice);
}

function clearNotice(topic) {
  ui.notices.querySelector(`[data-topic="${topic}"]`)?.remove();
}

// ---------------------------------------------------------------------------------------------------------------
// Demo writer: only when the server runs its embedded database (GET /api/demo says so).

async function loadDemo() {
  try {
    const response = await fetch("/api/demo", { headers: { Accept: "application/json", ...authorization() } });
    if (!response.ok) return;
    const demo = await response.json();
    if (!demo.enabled) return;
    ui.writerTable.textContent = demo.table;
    ui.writer.hidden = false;
    if (demo.psql) {
      ui.psql.textContent = demo.psql;
      ui.psqlBox.hidden = false;
    }
  } catch (error) {
    console.warn("Zgres: the demo writer is unavailable:", error?.message ?? error);
  }
}

async function write(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Accept: "application/json", ...authorization(), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.ok) return response.status === 204 ? null : response.json();
  const problem = await response.json().catch(() => null);
  throw new Error(problem?.detail ?? `${method} ${path} answered ${response.status}`);
}

function reportWrite(promise, describe) {
  ui.writerResult.className = "writer-result";
  ui.writerResult.textContent = "Writing…";
  return promise.then(
    (result) => { ui.writerResult.textContent = describe(result); },
    (error) => { ui.writerResult.classList.add("error"); ui.writerResult.textContent = error.message; });
}

ui.insertForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(ui.insertForm);
  const inputId = Number(form.get("inputId"));
  reportWrite(write("POST", "/api/demo/inputs", { inputId, value: form.get("value") }), (row) => {
    ui.rowId.value = row.id;
    return `Inserted row ${row.id} (input ${row.inputId}).`;
  });
});

const WORDS = ["apple", "river", "orbit", "copper", "maple", "signal", "harbor", "violet", "ember", "quartz"];
ui.burst.addEventListener("click", () => {
  const rows = Array.from({ length: 20 }, () => ({
    inputId: 1 + Math.floor(Math.random() * 5),
    value: `${WORDS[Math.floor(Math.random() * WORDS.length)]} ${Math.floor(Math.random() * 1000)}`,
  }));
  reportWrite(Promise.all(rows.map((row) => write("POST", "/api/demo/inputs", row))),
    (written) => `Inserted rows ${written[0].id}–${written.at(-1).id}.`);
});

ui.updateForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(ui.updateForm);
  reportWrite(write("PUT", `/api/demo/inputs/${encodeURIComponent(form.get("id"))}`, { value: form.get("value") }),
    (row) => `Updated row ${row.id}.`);
});

ui.delete.addEventListener("click", () => {
  if (!ui.rowId.reportValidity()) return;
  const id = ui.rowId.value;
  reportWrite(write("DELETE", `/api/demo/inputs/${encodeURIComponent(id)}`), () => `Deleted row ${id}.`);
});

ui.copyPsql.addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(ui.psql.textContent);
    ui.copyPsql.textContent = "Copied";
  } catch {
    // Clipboard access needs a secure context (localhost is one); elsewhere, select the text for the user to copy.
    getSelection().selectAllChildren(ui.psql);
    ui.copyPsql.textContent = "Selected";
  }
  setTimeout(() => { ui.copyPsql.textContent = "Copy"; }, 1500);
});

// ---------------------------------------------------------------------------------------------------------------

updateCounts();
connect();
