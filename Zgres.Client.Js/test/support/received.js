// What a handler received, and a way to wait until something arrives. A wait that is never satisfied fails after a
// generous deadline with what did arrive; nothing here asserts how fast anything happens.

const WAIT_LIMIT_MS = 90_000;

export class Received {
  events = [];
  #waiters = [];

  /** The handler to pass to subscribe(). */
  handler = (event) => {
    this.events.push(event);
    const satisfied = this.#waiters.filter((waiter) => waiter.until(this.events));
    this.#waiters = this.#waiters.filter((waiter) => !satisfied.includes(waiter));
    for (const waiter of satisfied) waiter.resolve();
  };

  /** The `seq` column of each event received, in order of arrival. */
  get seqs() {
    return this.events.map((event) => event.data.seq);
  }

  /** Resolves once `until(events)` holds. */
  until(until, description = "the expected events") {
    if (until(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { until, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((other) => other !== waiter);
        reject(new Error(`Gave up waiting for ${description}; received seqs: ${this.seqs.slice(0, 200).join(",")}`));
      }, WAIT_LIMIT_MS);
      this.#waiters.push(waiter);
    });
  }

  /** Resolves once the event with this seq has arrived. */
  untilSeq(seq) {
    return this.until((events) => events.some((event) => event.data.seq === seq), `seq ${seq}`);
  }
}

/** [from, from + 1, ..., to] */
export const range = (from, to) => Array.from({ length: to - from + 1 }, (_, index) => from + index);
