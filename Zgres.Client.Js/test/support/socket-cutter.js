// A TCP relay between the client and the server that can cut every connection through it at once, while the server
// stays up: what a network drop or a load balancer's restart does to the hub's WebSockets. It can also refuse new
// connections for a while: an outage that lasts, and carry what the server sends at a given rate: a slow network.
import { createServer, connect } from "node:net";
import { Transform } from "node:stream";

export class SocketCutter {
  #relay;
  #sockets = new Set();
  #refusing = false;
  #toClientBytesPerSecond;
  /** How many bytes the server has sent through the relay, over every connection so far. */
  bytesToClients = 0;

  /** `toClientBytesPerSecond`: what the server sends goes no faster (unlimited when not given). */
  static async start(targetPort, { toClientBytesPerSecond = null } = {}) {
    const cutter = new SocketCutter();
    cutter.#toClientBytesPerSecond = toClientBytesPerSecond;
    cutter.#relay = createServer((client) => cutter.#relayConnection(client, targetPort));
    await new Promise((resolve) => cutter.#relay.listen(0, "127.0.0.1", resolve));
    cutter.url = `http://127.0.0.1:${cutter.#relay.address().port}`;
    return cutter;
  }

  #relayConnection(client, targetPort) {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const server = connect(targetPort, "127.0.0.1");
    for (const [from, to] of [[client, server], [server, client]]) {
      this.#sockets.add(from);
      if (from === server) {
        const paced = this.#toClientBytesPerSecond === null ? from : from.pipe(throttle(this.#toClientBytesPerSecond));
        paced.on("data", (chunk) => { this.bytesToClients += chunk.length; });
        paced.pipe(to);
      } else from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        this.#sockets.delete(from);
        to.destroy();
      });
    }
  }

  /** Destroys every open connection through the relay; returns how many there were. */
  cutAll() {
    const count = this.#sockets.size;
    for (const socket of this.#sockets) socket.destroy();
    return count;
  }

  /** Cuts every connection and refuses new ones until reopen(). */
  cutOff() {
    this.#refusing = true;
    return this.cutAll();
  }

  reopen() {
    this.#refusing = false;
  }

  close() {
    this.cutOff();
    return new Promise((resolve) => this.#relay.close(resolve));
  }
}

/** Passes each chunk on once the chunks before it and itself would have crossed a link of `bytesPerSecond`; the
 *  pipe's backpressure then slows the sender. */
function throttle(bytesPerSecond) {
  let free = performance.now();
  return new Transform({
    transform(chunk, _encoding, done) {
      const now = performance.now();
      free = Math.max(free, now) + (chunk.length * 1000) / bytesPerSecond;
      setTimeout(() => done(null, chunk), free - now);
    },
  });
}
