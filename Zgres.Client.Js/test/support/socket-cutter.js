// A TCP relay between the client and the server that can cut every connection through it at once, while the server
// stays up: what a network drop or a load balancer's restart does to the hub's WebSockets. It can also refuse new
// connections for a while: an outage that lasts.
import { createServer, connect } from "node:net";

export class SocketCutter {
  #relay;
  #sockets = new Set();
  #refusing = false;

  static async start(targetPort) {
    const cutter = new SocketCutter();
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
      from.pipe(to);
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
