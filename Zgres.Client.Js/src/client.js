import { HubConnectionBuilder, HubConnectionState, LogLevel } from "@microsoft/signalr";
import { ZgresSubscription } from "./subscription.js";
import { LiveQuery } from "./live-query.js";
import { Flush, JoinBegan, JoinEnded } from "./signals.js";

const HUB_PATH = "/hubs/changes";
// The server is given a little longer than the caller, so that the caller's own deadline decides (a TimeoutError).
const SERVER_GRACE = 1_000;

/** subscribe() was refused by the server (an unknown or unexposed table, a bad inputId or filter, a snapshot too
 *  large); the message is the server's. */
export class SubscriptionRefusedError extends Error {
  constructor(message, table, inputId, filter) {
    super(message);
    this.name = "SubscriptionRefusedError";
    this.table = table;
    this.inputId = inputId;
    this.filter = filter;
  }
}

/** waitForTransaction() was refused by the server: the transaction was rolled back, or the id is malformed or not of
 *  this database; the message is the server's. */
export class TransactionWaitError extends Error {
  constructor(message, txid) {
    super(message);
    this.name = "TransactionWaitError";
    this.txid = txid;
  }
}

/**
 * A client of a Zgres server's hub. It reconnects by itself, forever, with backoff and jitter (also when the first
 * connect fails), joins every live subscription's group again and resumes each after the last event it received, and
 * drops repeats, so each handler sees each event once and in order.
 *
 * It does not use SignalR's automatic reconnect, which gives up after a few tries. Each connect attempt is a new
 * HubConnection instead: retries never end, the token factory is called on every connect, and an event can only be
 * routed from the current connection, so nothing of a lost one is delivered after the resume point was taken.
 */
export class ZgresClient {
  #hubUrl;
  #options;
  #logger;
  #state = "disconnected";
  #stateListeners = new Set();
  #gapListeners = new Set();
  #handlerErrorListeners = new Set();
  // Subscriptions by what the hub groups by (see groupKey); each array is replaced whole on change, so routing never
  // sees one half-changed.
  #groups = new Map();
  // The groups the hub named in its answers, to their keys: every event names its group, and goes to its
  // subscriptions only.
  #keysByGroup = new Map();
  // The connection whose events are routed; null while none is up.
  #connection = null;
  // Aborted by stop(); one per start().
  #run = null;
  // The subscribe request awaiting the hub's answer ({ key, subscriptions, stage }), or null. Joins run one at a time,
  // so an event naming a group the hub has not named yet is this join's, and so is every join mark.
  #joining = null;
  // Whether the connection's server marks where joins begin and end: known from its first mark, and needed before one
  // (a server of an earlier version sends none, and then every event of a group goes to all its subscriptions).
  #marksJoins = false;
  // Joins and leaves run one after another, so a re-subscribe after a reconnect never interleaves with them.
  #membership = Promise.resolve();

  /**
   * @param {string} url the server's base address, for example "http://localhost:5080"; the hub is at /hubs/changes
   * @param {import("./index.js").ZgresClientOptions} [options]
   */
  constructor(url, options = {}) {
    // Join marks tell this client's subscriptions of one group apart while one of them joins it (see #receivers).
    this.#hubUrl = new URL(`${HUB_PATH}?joinMarks=true`, url).href;
    this.#options = {
      initialReconnectDelay: 200,
      maxReconnectDelay: 10_000,
      duplicateWindow: 100_000,
      ...options,
    };
    const { logger } = this.#options;
    this.#logger = typeof logger?.log === "function" ? logger : consoleLogger(logger ?? LogLevel.Warning);
  }

  /** "connecting" | "connected" | "reconnecting" | "disconnected" */
  get state() {
    return this.#state;
  }

  /** Calls `listener(current, previous, error)` on every change of state; returns a function that removes it. */
  onStateChanged(listener) {
    return addListener(this.#stateListeners, listener);
  }

  /** Calls `listener({ table, inputId, filter, after })` when a resume found that the server's log no longer held
   *  every event after `after` (older than its retention): events were missed, so reload that state. Called once for
   *  each point a subscription resumed from, also when the join's answer was lost after its replay began. Returns a
   *  remover. */
  onGap(listener) {
    return addListener(this.#gapListeners, listener);
  }

  /** Calls `listener(error, event, subscription)` when a handler throws; delivery goes on. Returns a remover. */
  onHandlerError(listener) {
    return addListener(this.#handlerErrorListeners, listener);
  }

  /** Connects, retrying with backoff until the server answers; resolves once connected. Rejects only when stop() is
   *  called first. From then on the client reconnects by itself. */
  async start() {
    if (this.#run) throw new Error("The client is already started.");
    const run = new AbortController();
    this.#run = run;
    this.#setState("connecting");
    await this.#connect(run.signal);
  }

  /**
   * Subscribes to a table ("table" means schema public, or "schema.table"), or to one input of it, and calls
   * `handler(event)` for each event, once and in order; an async handler finishes before the next event. `after`
   * resumes after an id stored by an earlier run (sub.lastId); that replay reaches a synchronous handler before the
   * returned promise resolves (an async one gets each event once it finished the one before, so maybe later).
   * `filter` ([{ column, op, value }], all must hold) limits the rows; `snapshot: true` first hands over every row
   * that matches now as "SNAPSHOT" events, also before the promise resolves (not with `after`).
   * While the client is reconnecting, waits for it.
   * Rejects with a SubscriptionRefusedError carrying the server's message when the server refuses. The options may
   * be left out: subscribe(table, handler).
   */
  async subscribe(table, options, handler) {
    if (typeof options === "function") [options, handler] = [{}, options];
    const { inputId = null, after = null, filter = null, snapshot = false } = options ?? {};
    if (typeof handler !== "function") throw new TypeError("handler must be a function.");
    const subscription = this.#newSubscription(table, { inputId, filter, after, handler });
    await this.#join(subscription, snapshot === true);
    return subscription;
  }

  /** A subscription of `table` (a bare name means schema public) whose events go to `handler`, or, for a live view,
   *  whose events and signals all go to `consume`. */
  #newSubscription(table, { inputId, filter, after = null, handler, consume = null }) {
    if (typeof table !== "string" || table.trim() === "") throw new TypeError("table must be a table name.");
    if (filter !== null && !Array.isArray(filter)) throw new TypeError("filter must be an array of { column, op, value } conditions, or null.");
    const qualified = table.includes(".") ? table : `public.${table}`;
    const input = inputId === null || inputId === undefined ? null : String(inputId);
    return new ZgresSubscription({
      key: groupKey(qualified, input, filter),
      table: qualified,
      inputId: input,
      filter,
      after,
      handler,
      consume,
      duplicateWindow: this.#options.duplicateWindow,
      leave: (leaving) => this.#leave(leaving),
      reportHandlerError: (error, event, failed) => this.#reportHandlerError(error, event, failed),
    });
  }

  /**
   * The events of a subscription (the options are subscribe()'s) as an async iterator: the replay after `after` or the
   * snapshot rows when asked for, then live ones, until `signal` aborts (the loop then ends without an error), the
   * consumer breaks out, or the client stops.
   */
  async *stream(table, { signal, ...options } = {}) {
    if (signal?.aborted) return;
    let arrived = [];
    let wake = () => {};
    const subscription = await this.subscribe(table, options, (event) => {
      arrived.push(event);
      wake();
    });
    let ended = false;
    subscription.ended.then(() => {
      ended = true;
      wake();
    });
    const endOnAbort = () => subscription.unsubscribe();
    signal?.addEventListener("abort", endOnAbort, { once: true });
    try {
      // The subscription ends on abort and on stop(); `signal.aborted` is checked too, since an abort inside the
      // consumer's loop body comes before `ended` is set.
      while (!ended && !signal?.aborted) {
        if (arrived.length === 0) {
          await new Promise((resolve) => { wake = resolve; });
          continue;
        }
        const batch = arrived;
        arrived = [];
        for (const event of batch) {
          if (ended || signal?.aborted) break;
          yield event;
        }
      }
    } finally {
      signal?.removeEventListener("abort", endOnAbort);
      await subscription.unsubscribe();
    }
  }

  /**
   * A live view of a table ("table" or "schema.table"), or of one input of it, or of the rows a filter selects: it
   * takes a snapshot, then applies every change by primary key, resumes after a reconnect and takes a new snapshot by
   * itself after a gap or a snapshot cut by a lost connection. Returns at once; `view.ready` resolves once the rows
   * are in, or rejects with a SubscriptionRefusedError when the server refuses (no primary key, a bad filter, ...).
   * Made while the client is connecting or reconnecting, it waits for the connection.
   */
  liveQuery(table, { inputId = null, filter = null } = {}) {
    // The view makes its subscription at once, so a bad table or filter throws here rather than rejecting `ready`.
    return new LiveQuery({
      subscribe: (consume) => this.#newSubscription(table, { inputId, filter, consume }),
      client: {
        follow: (subscription) => this.#join(subscription, true),
        resnapshot: (subscription) => this.#resnapshot(subscription),
        backoff: (attempt) => this.#backoff(attempt),
        reportError: (error, subscription) => this.#reportHandlerError(error, null, subscription),
      },
    });
  }

  /**
   * Resolves once every event of a transaction for this client's subscriptions and live views has been handed to their
   * handlers (async ones finished) and applied to the views; at once when the transaction touched none of them. A
   * transaction still open is waited for. After a write (`INSERT ...; SELECT pg_current_xact_id()`), wait for that id
   * and the row is in the view. A connection lost meanwhile is waited out: the client reconnects, resumes its
   * subscriptions and asks again. Rejects with a TransactionWaitError when the transaction was rolled back or the id
   * is not one, with an Error named "TimeoutError" when `timeout` (ms, default 30000) passes first, and with the
   * signal's reason when `signal` aborts.
   */
  async waitForTransaction(txid, { timeout = 30_000, signal } = {}) {
    if (!(typeof txid === "string" || typeof txid === "bigint" || Number.isSafeInteger(txid)) || String(txid).trim() === "") {
      throw new TypeError("txid must be the transaction id pg_current_xact_id() returned (a string).");
    }
    // setTimeout's own range: beyond it a timer fires at once.
    if (!(Number.isFinite(timeout) && timeout > 0 && timeout <= 2 ** 31 - 1)) throw new TypeError("timeout must be a number of milliseconds, above zero and at most 2147483647.");
    const id = String(txid);
    signal?.throwIfAborted();
    const deadline = performance.now() + timeout;
    const timedOut = new AbortController();
    const timer = setTimeout(() => timedOut.abort(timeoutError(id, timeout)), timeout);
    const stop = signal ? AbortSignal.any([signal, timedOut.signal]) : timedOut.signal;
    try {
      for (;;) {
        await untilAborted(this.#whenConnected(), stop);
        const connection = this.#connection;
        try {
          const remaining = Math.ceil(deadline - performance.now()) + SERVER_GRACE;
          await untilAborted(connection.invoke("WaitForTransaction", { txid: id, timeout: remaining }), stop);
        } catch (error) {
          if (stop.aborted) throw stop.reason;
          if (isHubRefusal(error)) throw new TransactionWaitError(serverMessage(error), id);
          // Lost with its connection (the client is reconnecting by now): ask again on the next one.
          if (connection.state === HubConnectionState.Connected) throw error;
          continue;
        }
        // Handlers run as frames arrive, so every event sent before the answer has been routed by now; each
        // subscription and view hands them over before the flush behind them.
        await untilAborted(this.#flush(), stop);
        return;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once every subscription has handed over (a view: applied) everything routed to it so far. */
  #flush() {
    const flushed = [];
    for (const subscriptions of this.#groups.values()) {
      for (const subscription of subscriptions) flushed.push(new Promise((resolve) => subscription.signal(new Flush(resolve))));
    }
    return Promise.all(flushed);
  }

  /** Ends every subscription (streams end) and closes the connection. The client can be started again. */
  async stop() {
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    run.abort(new Error("The client was stopped."));
    const connection = this.#connection;
    this.#connection = null;
    for (const subscriptions of this.#groups.values()) for (const subscription of subscriptions) subscription.close();
    this.#groups = new Map();
    this.#keysByGroup = new Map();
    // Before the await, so that a start() right after stop() is not followed by a late "disconnected".
    this.#setState("disconnected");
    await connection?.stop();
  }

  /** Connects and joins every group again, retrying with backoff until both succeed or `stopped` aborts. */
  async #connect(stopped) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await delay(this.#backoff(attempt - 1), stopped);
      const connection = this.#createConnection();
      try {
        await connection.start();
      } catch (error) {
        this.#logger.log(LogLevel.Warning, `Zgres: connect attempt ${attempt + 1} failed (${error?.message ?? error}); retrying.`);
        continue;
      }
      if (stopped.aborted) {
        await connection.stop();
        throw stopped.reason;
      }
      this.#connection = connection;
      this.#marksJoins = false;
      if (await this.#rejoinAll(connection, stopped) && this.#connection === connection) {
        this.#setState("connected");
        return;
      }
    }
  }

  #createConnection() {
    const connection = new HubConnectionBuilder()
      .withUrl(this.#hubUrl, { ...this.#options.connectionOptions, accessTokenFactory: this.#options.accessTokenFactory })
      .configureLogging(this.#logger)
      .build();
    connection.on("Change", (event) => {
      if (connection === this.#connection) this.#route(event);
    });
    // { group, end }: where the join in flight begins, or where its own events (a replay, a catch-up) end. A replay's
    // beginning also says whether it found a gap: once said, what it brings counts even if its answer is lost (a gap is
    // then reported by the client itself).
    connection.on("JoinMark", (mark) => {
      if (connection !== this.#connection) return;
      this.#marksJoins = true;
      if (!this.#joining) return;
      const end = mark?.end === true;
      this.#joining.stage = end ? "sent" : "begun";
      if (!end) this.#joining.replayGap = typeof mark?.gap === "boolean" ? mark.gap : null;
    });
    connection.onclose((error) => this.#onClosed(connection, error));
    return connection;
  }

  #onClosed(connection, error) {
    if (connection !== this.#connection) return;
    this.#connection = null;
    // While connecting, the connect loop notices the loss itself and tries again.
    if (this.#state !== "connected") return;
    this.#setState("reconnecting", error);
    this.#connect(this.#run.signal).catch(() => { /* stop() was called */ });
  }

  /** After (re)connecting: joins every group again, resuming after the lowest point its subscriptions need (each drops
   *  what it already delivered). A refused re-join (the server's database briefly unreachable) is retried with backoff
   *  for as long as the connection stays up. False when the connection was lost meanwhile. */
  async #rejoinAll(connection, stopped) {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#exclusive(async () => {
          // Never a new snapshot: a snapshot subscription resumes after its last event like any other. One that has
          // no resume point yet (a live view whose snapshot never arrived) takes its snapshot itself.
          for (const subscriptions of [...this.#groups.values()]) {
            const resumable = subscriptions.filter((subscription) => subscription.resumeAfter !== null);
            if (resumable.length > 0) await this.#invokeSubscribe(connection, resumable, lowestResumePoint(resumable), false);
          }
        });
        return true;
      } catch (error) {
        if (connection.state !== HubConnectionState.Connected) return false;
        this.#logger.log(LogLevel.Warning, `Zgres: re-subscribing after a reconnect failed (${serverMessage(error)}); retrying.`);
      }
      await delay(this.#backoff(attempt), stopped);
    }
  }

  /** Joins a new subscription's group (with a snapshot, or replaying after its resume point); when the connection
   *  drops before the hub answers, joins on the next one, unless its handler had rows of a snapshot already. */
  async #join(subscription, snapshot) {
    for (;;) {
      await this.#whenConnected();
      const connection = this.#connection;
      const joined = await this.#exclusive(async () => {
        if (connection !== this.#connection) return false;
        // Routed before the request, so that the replay the hub sends ahead of its answer reaches it.
        this.#setGroup(subscription.key, [...this.#group(subscription.key), subscription]);
        try {
          await this.#invokeSubscribe(connection, [subscription], subscription.resumeAfter, snapshot);
          return true;
        } catch (error) {
          this.#forget(subscription);
          throwUnlessConnectionLost(error, subscription, connection);
          // A snapshot cut off after some rows cannot simply be asked for again: the handler would get those rows twice
          // and keep any row deleted in between. The caller subscribes again into a fresh view.
          if (subscription.snapshotRows > 0) {
            subscription.close();
            throw new Error(`The connection was lost while the snapshot of ${describe(subscription)} was being sent, after ${subscription.snapshotRows} rows; subscribe again for a fresh view.`);
          }
          return false;
        }
      });
      if (joined) return;
    }
  }

  /** A new snapshot for a live view already in its group: its rows are the view's alone, while the group's events go
   *  on reaching every subscription of it. Waits for the connection; true once joined (or when the view was closed
   *  meanwhile), false when the connection was lost first (the view asks again). Rejects with a
   *  SubscriptionRefusedError when the server refuses. */
  async #resnapshot(subscription) {
    await this.#whenConnected();
    const connection = this.#connection;
    return this.#exclusive(async () => {
      if (connection !== this.#connection) return false;
      if (!this.#group(subscription.key).includes(subscription)) return true;
      try {
        await this.#invokeSubscribe(connection, [subscription], null, true);
        return true;
      } catch (error) {
        throwUnlessConnectionLost(error, subscription, connection);
        return false;
      }
    });
  }

  /** Asks the hub to join the subscriptions' group (replaying after `after`, or sending the snapshot first) and records
   *  the group's name and the resume point it answers with. Reports a gap the join found, also when its answer was lost
   *  after its replay's beginning had said so (what it brought then counts, and the next join resumes after the gap). */
  async #invokeSubscribe(connection, subscriptions, after, snapshot) {
    const { key, table, inputId, filter } = subscriptions[0];
    // Every subscription of the group hears where the join begins and ends: in between its events may repeat or come
    // out of commit order (a replay, a snapshot's catch-up), which a live view must know.
    const join = { key, subscriptions, snapshot, stage: "asked", replayGap: null, result: null, failure: null };
    const group = this.#group(key);
    for (const subscription of group) subscription.signal(new JoinBegan(join));
    this.#joining = join;
    let answered = false;
    try {
      join.result = await connection.invoke("Subscribe", { table, inputId, after, filter, snapshot });
      answered = true;
    } catch (error) {
      join.failure = error;
    } finally {
      // Handlers run as frames arrive, so every event sent before the answer has been routed by now.
      this.#joining = null;
      for (const subscription of new Set([...group, ...this.#group(key)])) subscription.signal(new JoinEnded(join));
    }
    // Every subscription hears of a gap once: a join cut before it moved their point is asked again from there.
    const foundGap = (join.result?.gap ?? join.replayGap) === true && after !== null;
    if (foundGap && subscriptions.reduce((news, subscription) => subscription.isNewGap(after) || news, false)) {
      this.#logger.log(LogLevel.Warning, `Zgres: the resume of ${describe(subscriptions[0])} after ${after} found a gap: the server's log no longer holds every event since.`);
      notify(this.#gapListeners, { table, inputId, filter, after });
    }
    if (!answered) throw join.failure;
    const { result } = join;
    this.#keysByGroup.set(result.group, key);
    for (const subscription of subscriptions) subscription.joined(result.resumeAfter);
  }

  async #leave(subscription) {
    await this.#exclusive(async () => {
      const connection = this.#connection;
      if (!this.#forget(subscription)) return;
      try {
        const { table, inputId, filter } = subscription;
        if (connection?.state === HubConnectionState.Connected) await connection.invoke("Unsubscribe", { table, inputId, filter });
      } catch (error) {
        // The connection went away, and the group with it.
        this.#logger.log(LogLevel.Debug, `Zgres: unsubscribe failed (${serverMessage(error)}).`);
      }
      // Known until the hub has left the group, so that an event still on its way is dropped rather than taken for a
      // joining subscription's. A client that subscribes and unsubscribes all day keeps no trail.
      for (const [group, owner] of this.#keysByGroup) if (owner === subscription.key && !this.#groups.has(owner)) this.#keysByGroup.delete(group);
    });
  }

  /** Stops routing to the subscription; true when it was its group's last, so the hub group can be left. */
  #forget(subscription) {
    const remaining = this.#group(subscription.key).filter((other) => other !== subscription);
    this.#setGroup(subscription.key, remaining);
    return remaining.length === 0;
  }

  #group(key) {
    return this.#groups.get(key) ?? [];
  }

  #setGroup(key, subscriptions) {
    if (subscriptions.length > 0) {
      this.#groups.set(key, subscriptions);
      return;
    }
    this.#groups.delete(key);
  }

  /** Every event names the hub group it was sent for and goes to that group's subscriptions only. Before the hub's
   *  answer names a group, an event of a group not known yet is the joining subscription's (joins run one at a time):
   *  its replay, or its snapshot rows, which are that subscription's alone, not its group's (another subscription of
   *  the group never asked for them). */
  #route(event) {
    const joining = this.#joining;
    const subscriptions = event.operation === "SNAPSHOT"
      ? (joining?.snapshot ? joining.subscriptions : null)
      : this.#receivers(this.#keysByGroup.get(event.group) ?? joining?.key, joining);
    for (const subscription of subscriptions ?? []) subscription.offer(event);
  }

  /** Who gets an event of the group of `key`. While some of its subscriptions join it and the server marks joins: what
   *  it sent before the join began is the others' (the joining ones get it in their replay, their catch-up or their
   *  snapshot, or it is older than what they asked for), what it sends between the marks is the joining ones' own, and
   *  what follows the end mark is everyone's. */
  #receivers(key, joining) {
    const group = this.#group(key);
    if (!joining || joining.key !== key) return group;
    const isJoining = (subscription) => joining.subscriptions.includes(subscription);
    if (joining.stage === "begun") return group.filter(isJoining);
    if (joining.stage === "asked" && this.#marksJoins) return group.filter((subscription) => !isJoining(subscription));
    return group;
  }

  #whenConnected() {
    if (this.#state === "connected") return Promise.resolve();
    if (this.#state === "disconnected") return Promise.reject(new Error("The client is not started: call start() first."));
    return new Promise((resolve, reject) => {
      const remove = this.onStateChanged((current) => {
        if (current !== "connected" && current !== "disconnected") return;
        remove();
        if (current === "connected") resolve();
        else reject(new Error("The client was stopped."));
      });
    });
  }

  #exclusive(task) {
    const result = this.#membership.then(task);
    this.#membership = result.catch(() => {});
    return result;
  }

  #setState(current, error) {
    const previous = this.#state;
    if (previous === current) return;
    this.#state = current;
    this.#logger.log(LogLevel.Information, `Zgres: ${previous} -> ${current}${error ? ` (${error.message})` : ""}`);
    notify(this.#stateListeners, current, previous, error);
  }

  #reportHandlerError(error, event, subscription) {
    const where = event === null ? "" : ` on event ${event.id}`;
    this.#logger.log(LogLevel.Error, `Zgres: a handler of ${describe(subscription)} failed${where}: ${error?.stack ?? error}`);
    notify(this.#handlerErrorListeners, error, event, subscription);
  }

  /** Exponential backoff with jitter, capped; the caller never gives up. */
  #backoff(attempt) {
    const capped = Math.min(this.#options.initialReconnectDelay * 2 ** Math.min(attempt, 20), this.#options.maxReconnectDelay);
    return capped / 2 + Math.random() * (capped / 2);
  }
}

/** One key per hub group: the hub groups subscriptions by table, input and filter (equal JSON text shares a group). */
const groupKey = (table, inputId, filter) => JSON.stringify([table, inputId, filter]);

/** "schema.table/inputId" (or "/*"), and the filter when there is one, for log messages. */
const describe = ({ table, inputId, filter }) => `${table}/${inputId ?? "*"}${filter === null ? "" : ` ${JSON.stringify(filter)}`}`;

function lowestResumePoint(subscriptions) {
  const points = subscriptions.map((subscription) => subscription.resumeAfter).filter((point) => point !== null);
  return points.length === 0 ? null : Math.min(...points);
}

// SignalR reports a HubException as an error whose message wraps the server's: "... HubException: <message>".
const HUB_EXCEPTION = /HubException: ([\s\S]*)$/;
const isHubRefusal = (error) => HUB_EXCEPTION.test(error?.message ?? "");
const serverMessage = (error) => (error?.message ?? String(error)).match(HUB_EXCEPTION)?.[1] ?? error?.message ?? String(error);

/** A join that failed while its connection stayed up failed for good: the server's refusal (thrown as a
 *  SubscriptionRefusedError) or the call's own error. Only a join whose connection was lost is asked again. */
function throwUnlessConnectionLost(error, { table, inputId, filter }, connection) {
  if (isHubRefusal(error)) throw new SubscriptionRefusedError(serverMessage(error), table, inputId, filter);
  if (connection.state === HubConnectionState.Connected) throw error;
}

function addListener(listeners, listener) {
  if (typeof listener !== "function") throw new TypeError("listener must be a function.");
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls every listener; one that throws does not keep the others from hearing it. */
function notify(listeners, ...args) {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch (error) {
      console.error("Zgres: a listener failed:", error);
    }
  }
}

function timeoutError(txid, timeout) {
  const error = new Error(`Transaction ${txid} did not commit, or its events did not all reach this client's handlers and views, within ${timeout} ms.`);
  error.name = "TimeoutError";
  return error;
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts (the promise itself goes on). */
function untilAborted(promise, signal) {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function delay(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
  });
}

/** SignalR's ILogger on the console, from a minimum level: the client's messages and SignalR's own share it. */
function consoleLogger(minimumLevel) {
  return {
    log(level, message) {
      if (level < minimumLevel) return;
      if (level >= LogLevel.Error) console.error(message);
      else if (level >= LogLevel.Warning) console.warn(message);
      else console.info(message);
    },
  };
}
