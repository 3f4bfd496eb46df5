// A TCP relay between the client and the server that can cut every connection through it at once, while the server
// stays up: what a network drop or a load balancer's restart does to the hub's WebSockets.
import { createServer, connect } from "node:net";

export class SocketCutter {
  #relay;
  #sockets = new Set();

  constructor(relay) {
    this.#relay = relay;
    this.url = `http://127.0.0.1:${relay.address().port}`;
  }

  static async start(targetPort) {
    const sockets = new Set();
    const relay = createServer((client) => {
      const server = connect(targetPort, "127.0.0.1");
      for (const [from, to] of [[client, server], [server, client]]) {
        sockets.add(from);
        from.pipe(to);
        from.on("error", () => to.destroy());
        from.on("close", () => { sockets.delete(from); to.destroy(); });
      }
    });
    await new Promise((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const cutter = new SocketCutter(relay);
    cutter.#sockets = sockets;
    return cutter;
  }

  /** Destroys every open connection through the relay; returns how many there were. */
  cutAll() {
    const count = this.#sockets.size;
    for (const socket of this.#sockets) socket.destroy();
    return count;
  }

  close() {
    this.cutAll();
    return new Promise((resolve) => this.#relay.close(resolve));
  }
}
