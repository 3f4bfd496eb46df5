// What routing hands a subscription besides events, in the order of the connection's frames: points between events.

/** A join of the subscription's group began (`join`: { key, subscriptions, snapshot, result, failure }). */
export class JoinBegan {
  constructor(join) {
    this.join = join;
  }
}

/** That join ended: every event it brought was handed over before this. */
export class JoinEnded {
  constructor(join) {
    this.join = join;
  }
}

/** Everything routed before this was routed: `done()` once it has all been handed over. */
export class Flush {
  constructor(done) {
    this.done = done;
  }
}

export const isSignal = (item) => item instanceof JoinBegan || item instanceof JoinEnded || item instanceof Flush;
